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
//
// residual_with<Projection, Block...>: output = Projection(input) + Block(input), for a block
// that changes the shape (ResNet's projection shortcut). Projection is one dense or convolution
// layer without activation, e.g. residual_with<conv2d<64, 1, 2>, conv2d<64, 3, 2>, relu, conv2d<64, 3>>.
#include <cstddef>

#include <hinge/core/concepts.hpp>
#include <hinge/core/shape.hpp>

namespace hinge {

template <class... Block>
struct residual {};

template <class Projection, class... Block>
struct residual_with {};

// The stage that closes a residual block. Source is the index + 1 of the stage whose output is
// added (0: the network input). When Projected, that stage is the projection, placed right
// before this one, and the block's output is the stage before it. Made by the planner.
template <std::size_t Source, bool Projected = false>
struct residual_add {
    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::residual_add;
    static constexpr std::size_t source_plus_one = Source;
    static constexpr bool projected = Projected;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }
};

// The projection of residual_with: Layer, reading the output of stage Source - 1 (0: the network
// input) instead of the stage before it. Made by the planner.
template <class Layer, std::size_t Source>
struct projection : Layer {
    static_assert(Layer::kind == stage_kind::dense || Layer::kind == stage_kind::convolution,
                  "residual_with<Projection, Block...>: Projection must be one dense or convolution layer");
    static constexpr std::size_t input_source_plus_one = Source;
};

namespace detail {
// Markers placed around a residual block's layers by the planner's flattening pass.
struct residual_begin {};
struct residual_end {};
template <class Projection>
struct projection_marker {};
}  // namespace detail

// The index + 1 of the stage whose output stage I reads: I (the previous stage) for every stage
// except a projection.
template <class Layer, std::size_t I>
inline constexpr std::size_t input_source_of = [] {
    if constexpr (requires { Layer::input_source_plus_one; }) return Layer::input_source_plus_one;
    else return I;
}();

}  // namespace hinge
