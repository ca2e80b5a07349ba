#pragma once
#include <limits>

#include <hinge/activations/value_ops.hpp>
#include <hinge/detail/logistic.hpp>

namespace hinge {

// gelu: f(z) = z Phi(z) = z/2 (1 + erf(z / sqrt 2)), the Gaussian error linear unit (Hendrycks and
// Gimpel 2016): z weighted by the probability that a standard normal is below it. Smooth,
// non-monotonic (minimum about -0.17 at z = -0.75); the usual choice in transformers.
//
// Derivative (of z, not of the output, which is not invertible): f'(z) = Phi(z) + z phi(z),
// phi(z) = exp(-z^2/2) / sqrt(2 pi). No kink. f'(+inf) = 1, f'(-inf) = 0.
//
// Accuracy: 1 + erf(z / sqrt 2) cancels for z < 0, so the relative accuracy of f is lost in the
// far negative tail (float: about 1e-4 at z = -3, none below z = -5.5, where f rounds to 0 while
// the true value is below 2e-7 in magnitude). The absolute error stays below eps |z| / 2 times
// erf's error in ulps (libm: under 1; xsimd 8.1: up to 1.8 in float and 34 in double, measured
// near |x| = 2.2).
// (math::erfc would remove the cancellation: z/2 erfc(-z / sqrt 2).)
//
// erf's argument is clamped to [-6, 6], where erf is +-1 to double precision already (erfc(6) is
// 2e-17), because xsimd 8.1's double erf returns NaN for |x| > 9.5e61.
//
// NaN: NaN in, NaN out on every path. The infinities are their limits: f(+inf) = +inf,
// f(-inf) = 0, not -inf * 0 = NaN.
struct gelu {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = false;

    static constexpr double inverse_sqrt_2 = 0.70710678118654752440;
    static constexpr double inverse_sqrt_2pi = 0.39894228040143267794;

    // Phi(z) = (1 + erf(z / sqrt 2)) / 2.
    template <class V>
    static V normal_cdf(V z) noexcept {
        const V x = V(inverse_sqrt_2) * z;
        const V clamped = where(x > V(6), V(6), where(x < V(-6), V(-6), x));  // NaN stays
        return V(0.5) * (V(1) + math::erf(clamped));
    }

    template <class V>
    static V forward(V z) noexcept {
        constexpr float inf = std::numeric_limits<float>::infinity();
        return where(z == V(-inf), V(0), z * normal_cdf(z));
    }
    // z is the pre-activation.
    template <class V>
    static V derivative(V z) noexcept {
        constexpr float inf = std::numeric_limits<float>::infinity();
        const V cdf = normal_cdf(z);
        const V pdf = V(inverse_sqrt_2pi) * math::exp(V(-0.5) * z * z);
        return where(z == V(inf), V(1), where(z == V(-inf), V(0), cdf + z * pdf));
    }
};

// gelu_tanh: the tanh approximation of gelu used by BERT and GPT-2 (PyTorch's
// gelu(approximate='tanh')):  f(z) = z/2 (1 + tanh(u)),  u = sqrt(2/pi) (z + 0.044715 z^3).
// It is evaluated as z sigmoid(2u), the same function (1 + tanh u = 2 sigmoid(2u)), because that
// form keeps full relative accuracy in the negative tail where 1 + tanh(u) cancels, and costs one
// exp instead of a tanh. It differs from gelu by less than 5e-4 in absolute value.
//
// Derivative (of z): f'(z) = s + z s (1 - s) 2u', with s = sigmoid(2u), 1 - s = sigmoid(-2u)
// (computed without cancellation) and u' = sqrt(2/pi) (1 + 3 0.044715 z^2). No kink.
//
// Saturation: for |z| > 40 the derivative returns its limit, 1 or 0; there the true value differs
// from it by less than exp(-4000), i.e. not at all in double, and the guard keeps z^2 (which
// overflows in float for |z| > 1.8e19) from turning the vanishing term into inf * 0 = NaN.
//
// NaN: NaN in, NaN out on every path. f(+inf) = +inf, f(-inf) = 0.
struct gelu_tanh {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = false;

    static constexpr double sqrt_2_over_pi = 0.79788456080286535588;
    static constexpr double cubic = 0.044715;
    static constexpr double saturation = 40;

    template <class V>
    static V forward(V z) noexcept {
        constexpr float inf = std::numeric_limits<float>::infinity();
        const V two_u = V(2 * sqrt_2_over_pi) * z * (V(1) + V(cubic) * z * z);
        return where(z == V(-inf), V(0), z / (V(1) + math::exp(-two_u)));
    }
    // z is the pre-activation.
    template <class V>
    static V derivative(V z) noexcept {
        const V z2 = z * z;
        const V two_u = V(2 * sqrt_2_over_pi) * z * (V(1) + V(cubic) * z2);
        const V two_du = V(2 * sqrt_2_over_pi) * (V(1) + V(3 * cubic) * z2);
        const detail::logistic_pair<V> s = detail::logistic(two_u);
        const V slope = s.positive + z * s.positive * s.negative * two_du;
        return where(z > V(saturation), V(1), where(z < V(-saturation), V(0), slope));
    }
};

}  // namespace hinge
