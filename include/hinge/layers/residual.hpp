#pragma once
// residual<Block...>: output = input + Block(input) (He et al. 2016). The block may be any
// sequence of layers that gives back the shape it received; an activation written after
// residual<...> is applied after the addition, fused into it:
//
//   residual<conv2d<64, 3>, batch_norm, relu, conv2d<64, 3>, batch_norm>, relu
//
// The planner turns it into the block's stages followed by a residual_add stage that reads the
// block's input from where it is already stored (no copy is kept), and whose backward pass hands
// the gradient to both the block and the stage that produced its input.
#include <cstddef>

#include <hinge/core/concepts.hpp>
#include <hinge/core/shape.hpp>

namespace hinge {

template <class... Block>
struct residual {};

// The stage that closes a residual block. Source is the index + 1 of the stage whose output is
// the block's input (0: the network input). Made by the planner, not written by users.
template <std::size_t Source>
struct residual_add {
    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::residual_add;
    static constexpr std::size_t source_plus_one = Source;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }
};

namespace detail {
// Markers placed around a residual block's layers by the planner's flattening pass.
struct residual_begin {};
struct residual_end {};
}  // namespace detail

}  // namespace hinge
