#pragma once
#include <hinge/activations/value_ops.hpp>

namespace hinge {

// relu(z) = max(0, z): the hinge.
//
// Derivative: 1 for z > 0, 0 for z < 0, and 0 at the kink z = 0 (PyTorch's choice, and the one
// that makes a unit with zero input contribute nothing). It is computed from the stored output
// y = relu(z), since y > 0 exactly when z > 0; the backward pass therefore needs no copy of z.
//
// NaN: forward(NaN) and derivative(NaN) are NaN on every path (scalar and SIMD), so a numerical
// blow-up stays visible instead of being silently mapped to 0 as max(0, NaN) would do on some paths.
struct relu {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = true;
    static constexpr bool derivative_from_output = true;

    template <class V>
    static constexpr V forward(V z) noexcept {
        return where(z < V(0), V(0), z);
    }
    // y is the output forward(z).
    // NaN in y gives NaN, like every other activation's derivative: the gradient of a blown-up
    // unit stays visibly broken instead of becoming 0.
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return where(y > V(0), V(1), where(y <= V(0), V(0), y));
    }
};

}  // namespace hinge
