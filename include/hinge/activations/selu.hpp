#pragma once
#include <hinge/activations/value_ops.hpp>
#include <hinge/init/scheme.hpp>

namespace hinge {

// selu: f(z) = lambda z for z > 0, lambda alpha (exp(z) - 1) for z <= 0, with the constants of
// Klambauer et al. 2017 (self-normalising networks): lambda = 1.0507009873554804934,
// alpha = 1.6732632423543772848. With LeCun-normal weights (variance 1 / fan_in, which
// init::automatic picks for it) the mean and variance of the activations are driven towards
// 0 and 1 from layer to layer without batch_norm.
//
// Derivative: lambda for z > 0, lambda alpha exp(z) = y + lambda alpha for z < 0, from the stored
// output y. At the kink z = 0 it takes y + lambda alpha = lambda alpha (about 1.758), the left
// derivative, as every rectifier here (and PyTorch) does.
//
// NaN: NaN in, NaN out on every path. f(+inf) = +inf, f(-inf) = -lambda alpha.
struct selu {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = true;
    static constexpr init::scheme preferred_initialisation = init::scheme::lecun;

    static constexpr double lambda = 1.0507009873554804934193349852946;
    static constexpr double alpha = 1.6732632423543772848170429916717;
    static constexpr double lambda_alpha = 1.7580993408473768599402175208123;

    template <class V>
    static V forward(V z) noexcept {
        return where(z <= V(0), V(lambda_alpha) * math::expm1(z), V(lambda) * z);
    }
    // y is the output forward(z).
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return where(y > V(0), V(lambda), y + V(lambda_alpha));
    }
};

}  // namespace hinge
