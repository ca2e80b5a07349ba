#pragma once
#include <hinge/activations/value_ops.hpp>

namespace hinge {

// softplus: f(z) = log(1 + exp(z)), a smooth relu (always positive, f(z) - relu(z) <= log 2).
// Evaluated as max(z, 0) + log1p(exp(-|z|)): exp never overflows, and both tails keep their
// relative accuracy (for z -> -inf, f(z) is exp(z) to rounding; for z -> +inf, z + exp(-z)).
//
// Derivative: f'(z) = sigmoid(z) = 1 - exp(-y), computed from the stored output y as -expm1(-y),
// which keeps its relative accuracy where y is tiny (z very negative, f'(z) = y to rounding).
// No kink.
//
// Where xsimd's exp flushes a result below the smallest normal number to 0 (z < -87 in float,
// -708 in double) the SIMD path gives f(z) = 0 where the scalar path gives a subnormal number.
//
// NaN: NaN in, NaN out on every path (the max(z, 0) term is written so NaN falls to z).
// f(+inf) = +inf, f(-inf) = 0; f'(y = +inf) = 1, f'(y = 0) = 0.
struct softplus {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = true;

    template <class V>
    static V forward(V z) noexcept {
        return where(z < V(0), V(0), z) + math::log1p(math::exp(-math::abs(z)));
    }
    // y is the output forward(z) > 0.
    template <class V>
    static V derivative(V y) noexcept {
        return -math::expm1(-y);
    }
};

}  // namespace hinge
