#pragma once
#include <hinge/activations/value_ops.hpp>

namespace hinge {

// relu6: f(z) = min(max(z, 0), 6), relu capped at 6 (Krizhevsky 2010; MobileNet), whose bounded
// range suits low-precision inference.
//
// Derivative: 1 for 0 < z < 6, 0 elsewhere, and 0 at both kinks z = 0 and z = 6. It is computed
// from the stored output y, and that fixes the kink values: y = 0 for every z <= 0 and y = 6 for
// every z >= 6, so the output cannot tell a kink from the flat side next to it, and the flat
// side's 0 is the only consistent value (it is also PyTorch's: hardtanh's gradient is 1 only
// strictly inside the range).
//
// NaN: NaN in, NaN out on every path; f(+inf) = 6, f(-inf) = 0.
struct relu6 {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = true;
    static constexpr bool derivative_from_output = true;

    template <class V>
    static constexpr V forward(V z) noexcept {
        return where(z < V(0), V(0), where(z > V(6), V(6), z));
    }
    // y is the output forward(z), in [0, 6].
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return where(y > V(0), where(y < V(6), V(1), V(0)), where(y <= V(0), V(0), y));
    }
};

}  // namespace hinge
