#pragma once
#include <hinge/activations/value_ops.hpp>

namespace hinge::detail {

// The pair (sigmoid(t), sigmoid(-t)) = (sigmoid(t), 1 - sigmoid(t)) with full relative accuracy in
// both: 1 - sigmoid(t) is not formed by a subtraction, and the one exp, of -|t|, never overflows.
// NaN gives NaN in both; t = +-inf gives (1, 0) and (0, 1). For any value type V (see value_ops).
template <class V>
struct logistic_pair {
    V positive;  // sigmoid(t)
    V negative;  // sigmoid(-t)
};

template <class V>
logistic_pair<V> logistic(V t) noexcept {
    const V e = math::exp(-math::abs(t));  // in [0, 1]
    const V r = V(1) / (V(1) + e);         // sigmoid(|t|)
    const V s = e * r;                     // sigmoid(-|t|)
    return {where(t < V(0), s, r), where(t < V(0), r, s)};
}

}  // namespace hinge::detail
