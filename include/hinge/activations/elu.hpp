#pragma once
#include <hinge/activations/value_ops.hpp>

namespace hinge {

// elu<Alpha>: f(z) = z for z > 0, Alpha (exp(z) - 1) for z <= 0 (Clevert et al. 2016). Negative
// outputs down to -Alpha push the mean activation towards zero, and the negative side saturates
// smoothly instead of dying like relu's.
//
// Derivative: 1 for z > 0, Alpha exp(z) = y + Alpha for z < 0, computed from the stored output y
// (for Alpha >= 0 the sign of y is the sign of z). At the kink z = 0 it takes y + Alpha = Alpha,
// the left derivative, as relu and leaky_relu do (and as PyTorch does); for the default
// Alpha = 1 both sides agree and elu is continuously differentiable.
// Accuracy: far in the negative tail y has rounded to -Alpha and y + Alpha to 0 (float: z < -17.3).
//
// NaN: NaN in, NaN out on every path (the NaN lane falls to z, resp. to y + Alpha).
// f(+inf) = +inf, f(-inf) = -Alpha.
template <float Alpha = 1.0f>
struct elu {
    static_assert(Alpha >= 0.0f,
                  "elu<Alpha>: Alpha must be non-negative, because the backward pass takes the "
                  "derivative from the output, which needs f(z) to have the sign of z");

    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = true;
    static constexpr float alpha = Alpha;

    template <class V>
    static V forward(V z) noexcept {
        return where(z <= V(0), V(Alpha) * math::expm1(z), z);
    }
    // y is the output forward(z).
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return where(y > V(0), V(1), y + V(Alpha));
    }
};

}  // namespace hinge
