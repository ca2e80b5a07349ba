#pragma once
#include <cstddef>

namespace hinge {

// input<N>: the first argument of every network; all other shapes are inferred from it.
template <std::size_t Width>
struct input {
    static_assert(Width > 0, "input<N>: N must be at least 1, because a network needs a value to work on");
    static constexpr std::size_t width = Width;
};

// A layer that accepts any input width says so with any_width.
inline constexpr std::size_t any_width = 0;

namespace detail {
template <class T>
inline constexpr bool is_input = false;
template <std::size_t N>
inline constexpr bool is_input<input<N>> = true;

// The width of input<N>; 1 for anything else, so that a missing input<N> produces one clear
// error (in network<>) instead of a cascade.
template <class T>
inline constexpr std::size_t input_width = 1;
template <std::size_t N>
inline constexpr std::size_t input_width<input<N>> = N;
}  // namespace detail

}  // namespace hinge
