#pragma once
// The text of architecture descriptions (io/architecture.hpp), written in constant expressions:
// a layer's describe<S>(out) uses these to say what distinguishes two layers of its kind. Every
// constant is written exactly (integers in decimal, float constants as the hex of their bits),
// so a description is the same string for every compiler and instruction set.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <hinge/core/window.hpp>

namespace hinge::description {

template <class Out>
constexpr void put(Out& out, std::string_view s) {
    for (char c : s) out.put(c);
}

template <class Out>
constexpr void put_number(Out& out, std::size_t n) {
    char digits[24]{};
    std::size_t k = 0;
    do {
        digits[k++] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n != 0);
    while (k > 0) out.put(digits[--k]);
}

// A float constant as the hex of its bits: exact, and the same text on every compiler.
template <class Out>
constexpr void put_float_bits(Out& out, float f) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    put(out, "0x");
    for (int shift = 28; shift >= 0; shift -= 4) out.put("0123456789abcdef"[(bits >> shift) & 0xFu]);
}

// "(kernel KhxKw stride ShxSw dilation DhxDw pad TxL) ", with " groups G" before the ')' for a
// grouped convolution (G > 1 only, so that every ungrouped description stays what it was).
template <class Out>
constexpr void put_geometry(Out& out, const window_geometry& g, std::size_t groups = 1) {
    put(out, "(kernel ");
    put_number(out, g.kernel_height);
    out.put('x');
    put_number(out, g.kernel_width);
    put(out, " stride ");
    put_number(out, g.stride_height);
    out.put('x');
    put_number(out, g.stride_width);
    put(out, " dilation ");
    put_number(out, g.dilation_height);
    out.put('x');
    put_number(out, g.dilation_width);
    put(out, " pad ");
    put_number(out, g.pad_top);
    out.put('x');
    put_number(out, g.pad_left);
    if (groups > 1) {
        put(out, " groups ");
        put_number(out, groups);
    }
    put(out, ") ");
}

// A layer's part of a stage's description: its describe<S>(out), or its name and a space.
template <class L, class S, class Out>
constexpr void put_layer(Out& out) {
    if constexpr (requires { L::template describe<S>(out); }) {
        L::template describe<S>(out);
    } else {
        // An error here means a stage layer has neither describe<S>(out) nor a name: parameter
        // files must be able to say what it is. Add `static constexpr const char* name = "...";`.
        static_assert(requires { L::name; }, "hinge: a stage layer needs a `name` (or describe<S>(out)) for "
                                             "architecture descriptions");
        put(out, L::name);
        out.put(' ');
    }
}

namespace detail {
struct word_buffer {
    char chars[32]{};
    std::size_t size = 0;
    bool done = false;
    constexpr void put(char c) {
        if (done || c == ' ' || c == '(') {
            done = size > 0 || done;
            return;
        }
        if (size + 1 < sizeof chars) chars[size++] = c;
    }
};
template <class L, class S>
inline constexpr word_buffer kind_word = [] {
    word_buffer w;
    put_layer<L, S>(w);
    return w;
}();
}  // namespace detail

// The first word of a layer's description ("dense", "convolution", "batch_norm", "gru", ...): what
// messages call the stage.
template <class L, class S>
constexpr const char* kind_name() noexcept {
    return detail::kind_word<L, S>.chars;
}

}  // namespace hinge::description
