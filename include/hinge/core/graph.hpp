#pragma once
// Networks as graphs: names for values, and the planner markers that use them.
//
// A network's layer list is read left to right with a *current value*: each layer reads it and
// its output becomes the new current value. Three markers move that cursor, and a layer that
// reads more than one value names the others:
//
//   tap<"x">          names the current value "x" (the network input is "input" from the start)
//   from<"x">         continues from the value named "x": the next layer reads it
//   accumulate<"s">   adds the current value into the sum named "s" (the first one starts it);
//                     the current value stays what it was: a skip path that many blocks feed
//
// A WaveNet layer, its residual and its skip sum:
//
//   tap<"in">, conv1d<2 * C, 3, padding::causal, Dilation>, gated<tanh, sigmoid>,
//   accumulate<"skip">, conv1d<C, 1>, add<"in">
//
// Markers plan no stage and cost nothing at run time: the planner turns every name into the
// index of the stage whose output it is (core/plan.hpp), and each stage reads its values where
// they are already stored.
#include <cstddef>
#include <string_view>

namespace hinge {

// A name as a template argument: tap<"skip">.
template <std::size_t N>
struct value_name {
    char chars[N]{};
    constexpr value_name(const char (&s)[N]) noexcept {
        for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
    }
    constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

template <value_name Name>
struct tap {
    static constexpr bool planner_marker = true;
};
template <value_name Name>
struct from {
    static constexpr bool planner_marker = true;
};
template <value_name Name>
struct accumulate {
    static constexpr bool planner_marker = true;
};

// The stage a later accumulate<Name> plans: the sum so far plus the current value
// (layers/merge.hpp).
template <auto Name>
struct accumulate_sum;

// What a layer reads besides the current value, by name: `using named_inputs =
// hinge::named_inputs<Name>;` (layers/merge.hpp). The planner resolves the names; the layer's
// output_shape<Arriving, Stage, Named...>() receives their shapes, and its context's input<1>(),
// input<2>(), ... their values.
template <auto... Names>
struct named_inputs {
    static constexpr std::size_t size = sizeof...(Names);
};

}  // namespace hinge
