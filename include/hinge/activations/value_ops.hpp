#pragma once
// value_ops<V>: the few operations an activation needs beyond + - * /, written once for a
// generic value V. Scalars (float, double) are handled here; kernels/simd.hpp specialises the
// template for xsimd::batch. A class template rather than overloads, because a specialisation
// declared later (in kernels/) is still found at instantiation time and a later overload is not.
#include <concepts>

namespace hinge {

template <class V>
struct value_ops;

template <std::floating_point V>
struct value_ops<V> {
    static constexpr V where(bool condition, V if_true, V if_false) noexcept {
        return condition ? if_true : if_false;
    }
};

// where(c, a, b): a where c holds, b elsewhere; lane-wise for SIMD values.
template <class Condition, class V>
constexpr V where(Condition condition, V if_true, V if_false) noexcept {
    return value_ops<V>::where(condition, if_true, if_false);
}

}  // namespace hinge
