#pragma once
#include <limits>

#include <hinge/activations/value_ops.hpp>
#include <hinge/detail/logistic.hpp>

namespace hinge {

// silu: f(z) = z sigmoid(z) = z / (1 + exp(-z)), also called swish (Ramachandran et al. 2017,
// with beta = 1; Elfwing et al. 2018). Smooth, non-monotonic (minimum about -0.278 at
// z = -1.278), unbounded above like relu.
//
// Derivative (of z, since the output is not invertible): f'(z) = s (1 + z (1 - s)), s = sigmoid(z),
// with 1 - s = sigmoid(-z) computed without cancellation, so the derivative keeps its relative
// accuracy for large |z|. No kink. f'(+inf) = 1, f'(-inf) = 0.
//
// NaN: NaN in, NaN out on every path. The infinities are their limits: f(+inf) = +inf,
// f(-inf) = 0 (not -inf / inf = NaN), f'(+-inf) as above (not inf * 0 = NaN).
struct silu {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = false;

    template <class V>
    static V forward(V z) noexcept {
        constexpr float inf = std::numeric_limits<float>::infinity();
        return where(z == V(-inf), V(0), z / (V(1) + math::exp(-z)));
    }
    // z is the pre-activation.
    template <class V>
    static V derivative(V z) noexcept {
        constexpr float inf = std::numeric_limits<float>::infinity();
        const detail::logistic_pair<V> s = detail::logistic(z);
        return where(z == V(inf), V(1), where(z == V(-inf), V(0), s.positive * (V(1) + z * s.negative)));
    }
};

}  // namespace hinge
