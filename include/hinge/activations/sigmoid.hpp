#pragma once
#include <hinge/activations/value_ops.hpp>
#include <hinge/init/scheme.hpp>

namespace hinge {

// sigmoid: f(z) = 1 / (1 + exp(-z)), the logistic function, with values in (0, 1).
//
// Derivative: f'(z) = y (1 - y), computed from the stored output y. It is at most 1/4 (at z = 0),
// which is why deep sigmoid stacks lose their gradient; use it for outputs that are
// probabilities (or prefer binary_cross_entropy_with_logits on an identity output, which is exact
// in the tails) and for gates, not for hidden layers of deep networks.
//
// Accuracy: 1 / (1 + exp(-z)) has full relative accuracy in both tails (for z -> -inf it is
// exp(z) to rounding). From the output, y (1 - y) is exact to rounding given y; for large z the
// output itself has rounded to 1 and the derivative is 0 (float: z > 17.3; double: z > 37.4).
//
// NaN: NaN in, NaN out on every path (exp(NaN) is NaN for std:: and xsimd alike; no where()).
// f(-inf) = 0, f(+inf) = 1.
struct sigmoid {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = true;
    static constexpr init::scheme preferred_initialisation = init::scheme::glorot;

    template <class V>
    static V forward(V z) noexcept {
        return V(1) / (V(1) + math::exp(-z));
    }
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return y * (V(1) - y);
    }
};

}  // namespace hinge
