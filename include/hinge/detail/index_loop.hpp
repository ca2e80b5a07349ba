#pragma once
// Loops over compile-time indices, for code that needs each index as a constant (a stage of a
// network, a column of a register tile).
#include <cstddef>
#include <type_traits>
#include <utility>

namespace hinge {

// Calls f(std::integral_constant<std::size_t, I>{}) for I = 0 .. N-1 in order.
template <std::size_t N, class F>
constexpr void for_each_index(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<N>{});
}

// Calls f(std::integral_constant<std::size_t, I>{}) for I = N-1 down to 0.
template <std::size_t N, class F>
constexpr void for_each_index_reversed(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::integral_constant<std::size_t, N - 1 - I>{}), ...);
    }(std::make_index_sequence<N>{});
}

}  // namespace hinge
