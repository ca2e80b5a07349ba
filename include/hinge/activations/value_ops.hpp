#pragma once
// value_ops<V>: the operations an activation needs beyond + - * /, written once for a generic
// value V. Scalars (float, double) are handled here; kernels/simd.hpp specialises the template
// for xsimd::batch. A class template rather than overloads, because a specialisation declared
// later (in kernels/) is still found at instantiation time and a later overload is not.
//
// NaN: where(c, a, b) picks b when c is false, and every comparison with NaN is false. Write
// activations so that the NaN case falls through to an expression of z (e.g. relu as
// where(z < 0, 0, z)), and NaN stays NaN on the scalar and the SIMD path alike.
#include <cmath>
#include <concepts>

namespace hinge {

template <class V>
struct value_ops;

template <std::floating_point V>
struct value_ops<V> {
    static constexpr V where(bool condition, V if_true, V if_false) noexcept {
        return condition ? if_true : if_false;
    }
    static V exp(V x) noexcept { return std::exp(x); }
    static V expm1(V x) noexcept { return std::expm1(x); }
    static V log(V x) noexcept { return std::log(x); }
    static V log1p(V x) noexcept { return std::log1p(x); }
    static V tanh(V x) noexcept { return std::tanh(x); }
    // tanh and sigmoid for the gates of recurrent cells: faster and slightly less accurate on
    // float SIMD vectors (kernels/simd.hpp); on scalars tanh, and the sigmoid from it.
    static V gate_tanh(V x) noexcept { return std::tanh(x); }
    static V gate_sigmoid(V x) noexcept { return V(0.5) + V(0.5) * std::tanh(V(0.5) * x); }
    static V multiply_add(V x, V y, V z) noexcept { return std::fma(x, y, z); }
    static V erf(V x) noexcept { return std::erf(x); }
    static V sqrt(V x) noexcept { return std::sqrt(x); }
    static V abs(V x) noexcept { return std::fabs(x); }
};

// where(c, a, b): a where c holds, b elsewhere; lane-wise for SIMD values.
template <class Condition, class V>
constexpr V where(Condition condition, V if_true, V if_false) noexcept {
    return value_ops<V>::where(condition, if_true, if_false);
}

// Elementary functions on a generic value (std:: on scalars, xsimd on batches).
namespace math {
template <class V> V exp(V x) noexcept { return value_ops<V>::exp(x); }
template <class V> V expm1(V x) noexcept { return value_ops<V>::expm1(x); }
template <class V> V log(V x) noexcept { return value_ops<V>::log(x); }
template <class V> V log1p(V x) noexcept { return value_ops<V>::log1p(x); }
template <class V> V tanh(V x) noexcept { return value_ops<V>::tanh(x); }
template <class V> V gate_tanh(V x) noexcept { return value_ops<V>::gate_tanh(x); }
template <class V> V gate_sigmoid(V x) noexcept { return value_ops<V>::gate_sigmoid(x); }
template <class V> V erf(V x) noexcept { return value_ops<V>::erf(x); }
// x * y + z with one rounding.
template <class V> V multiply_add(V x, V y, V z) noexcept { return value_ops<V>::multiply_add(x, y, z); }
template <class V> V sqrt(V x) noexcept { return value_ops<V>::sqrt(x); }
template <class V> V abs(V x) noexcept { return value_ops<V>::abs(x); }
}  // namespace math

}  // namespace hinge
