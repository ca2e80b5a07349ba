#pragma once
// Compile errors that carry their facts on the line that says `error:`.
//
// g++ 12 prints only the message of a failed static_assert on that line (the condition goes to a
// note, the template arguments to an "In instantiation of" header far above), and neither g++ 12
// nor clang-19 in C++20 accepts a computed message. What both do print on the error line is a
// type: clang the failed requirement of a static_assert, g++ the incomplete type of a sizeof. So
// HINGE_REJECT(message, Facts...) names the facts as types (the stage index, the layer, sizes as
// numbers) and fails with the literal message:
//
//   clang: error: static assertion failed due to requirement 'hinge::diagnostic::rejected<
//          hinge::diagnostic::stage_index<1>, hinge::dense<32, 64>, ...>': dense<Width, In>: ...
//   g++:   error: invalid application of 'sizeof' to incomplete type 'hinge::diagnostic::error<
//          hinge::diagnostic::stage_index<1>, hinge::dense<32, 64>, ..., hinge::diagnostic::message<
//          hinge::diagnostic::text<N>{"dense<Width, In>: ..."}> >'
//
// Use it in a discarded `if constexpr (!ok)` branch of a template, so that it fires only for the
// instantiation that is wrong. The message form is "<layer>: <rule>, because <reason>; <what to do>"
// (the last part is what the user should change), without quotes (g++ would escape them).
#include <cstddef>

namespace hinge::diagnostic {

// Facts, as types whose names read in an error line.
template <std::size_t I> struct stage_index {};
template <std::size_t N> struct declared_input_width {};
template <std::size_t N> struct arriving_width {};
template <std::size_t N> struct expected_size {};
template <std::size_t N> struct given_size {};
template <std::size_t N> struct arriving_rank {};
template <class Shape> struct arriving_shape {};
template <class Shape> struct block_input_shape {};
template <class Shape> struct block_output_shape {};
template <class Shape> struct projected_shape {};
template <std::size_t N> struct kernel_span {};     // (Kernel - 1) * Dilation + 1 positions
template <std::size_t N> struct pooling_window {};
template <std::size_t N> struct stride {};
template <std::size_t N> struct input_channels {};
template <std::size_t N> struct filters {};
template <std::size_t N> struct groups {};
template <float V> struct slope {};
template <float V> struct momentum {};
template <float V> struct epsilon {};
template <class A> struct activation {};
template <class T> struct given_type {};
template <class T> struct not_a_layer {};
template <class A> struct second_activation {};
template <class L> struct loss_type {};
template <auto Name> struct value_named {};       // a name of tap<"x"> / from<"x"> (core/graph.hpp)
template <class Shape> struct current_shape {};  // the value a layer reads first
template <class Shape> struct named_shape {};    // the value it reads by name

// A string literal as a template argument (g++ prints it as a string).
template <std::size_t N>
struct text {
    char chars[N]{};
    constexpr text(const char (&s)[N]) noexcept {
        for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
    }
};
template <text Message> struct message {};

template <class... Facts> inline constexpr bool rejected = false;
template <class... Facts> struct error;  // never defined: naming it in sizeof is the g++ error

// The number of values of a fixed-size range type (std::span<T, N>, std::array<T, N>, T[N]), or 0
// when it has none (a dynamic span, a vector): for the messages of catch-all overloads.
template <class X>
constexpr std::size_t static_count() {
    if constexpr (requires { X::extent; })
        return X::extent == static_cast<std::size_t>(-1) ? 0 : X::extent;
    else if constexpr (requires { sizeof(X) / sizeof(X{}[0]); X{}.size(); })
        return X{}.size();
    else if constexpr (requires(X x) { sizeof(x) / sizeof(x[0]); })
        return sizeof(X) / sizeof(X{}[0]);
    else
        return 0;
}

}  // namespace hinge::diagnostic

namespace hinge {
// The stage index a layer's output_shape<Arriving, Stage>() gets when it is not called by the
// planner (which always passes the index of the stage being planned).
inline constexpr std::size_t unknown_stage = static_cast<std::size_t>(-1);
}  // namespace hinge

#if defined(__clang__)
#define HINGE_REJECT(message_literal, ...) \
    static_assert(::hinge::diagnostic::rejected<__VA_ARGS__>, message_literal)
#else
#define HINGE_REJECT(message_literal, ...) \
    static_assert(sizeof(::hinge::diagnostic::error<__VA_ARGS__, ::hinge::diagnostic::message<message_literal>>) == 0)
#endif
