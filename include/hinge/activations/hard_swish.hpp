#pragma once
#include <hinge/activations/value_ops.hpp>

namespace hinge {

// hard_swish: f(z) = z relu6(z + 3) / 6 (Howard et al. 2019, MobileNetV3), a piecewise
// quadratic stand-in for silu without an exp: 0 for z <= -3, z for z >= 3, z (z + 3) / 6 between.
// Written piecewise rather than as the product, so that f(-inf) = 0 instead of -inf * 0 = NaN.
//
// Derivative (of z: the output is not invertible, f is negative and non-monotonic on (-3, 0)):
// 0 for z < -3, (2z + 3) / 6 for -3 <= z <= 3, 1 for z > 3. The derivative jumps at both kinks,
// from 0 to -1/2 at z = -3 and from 3/2 to 1 at z = 3; hinge takes the middle piece on the
// closed interval, f'(-3) = -1/2 and f'(3) = 3/2, which is PyTorch's choice, so gradients agree
// with models trained there.
//
// NaN: NaN in, NaN out on every path; f(+inf) = +inf, f(-inf) = 0.
struct hard_swish {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = false;

    template <class V>
    static constexpr V forward(V z) noexcept {
        return where(z <= V(-3), V(0), where(z >= V(3), z, z * (z + V(3)) / V(6)));
    }
    // z is the pre-activation.
    template <class V>
    static constexpr V derivative(V z) noexcept {
        return where(z < V(-3), V(0), where(z > V(3), V(1), (V(2) * z + V(3)) / V(6)));
    }
};

}  // namespace hinge
