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
#include <type_traits>

#include <hinge/activations/identity.hpp>
#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/plan.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/elementwise_stages.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

// The stage that closes a residual block: y = Act(block output + shortcut). Source is the index
// + 1 of the stage whose output is added (0: the network input). When Projected, that stage is
// the projection, placed right before this one, and the block's output is the stage before it.
// Made by the planner.
template <std::size_t Source, bool Projected = false>
struct residual_add {
    static constexpr bool opens_stage = true;
    static constexpr std::size_t source_plus_one = Source;
    static constexpr bool projected = Projected;
    static constexpr channel_order_rule channel_order = channel_order_rule::keeps;

    // Input 0: the block's output; input 1: the shortcut.
    template <std::size_t Index>
    using sources = std::conditional_t<Projected, source_list<Index - 1, Index>, source_list<Index, Source>>;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }

    template <class S>
    static constexpr bool streams() {
        return S::input_shape::rank == 2;
    }

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, Projected ? "residual_add(projection " : "residual_add(from ");
        description::put_number(out, Source);
        description::put(out, ") ");
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        const auto block = ctx.template input<0>();
        const auto shortcut = ctx.template input<1>();
        kernels::residual_add_forward<typename Context::activation, S::output_width, Context::output_stride>(
            ctx.rows(), block.rows, shortcut.rows, shortcut.stride, ctx.output(), ctx.activation_inputs(),
            ctx.pre_activation());
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        const auto block = ctx.template input_gradient<0>();
        const auto shortcut = ctx.template input_gradient<1>();
        if constexpr (Projected) {
            // Both operands are stages this one reads first: the derivative of each is fused here.
            // The block's gradient rows may be this stage's own (the kernel reads each value before
            // it writes it).
            kernels::residual_add_backward_projected<typename decltype(shortcut)::activation,
                                                     typename decltype(block)::activation, Context::output_stride>(
                ctx.rows(), ctx.dz(), Context::dz_stride, shortcut.target, shortcut.rows, shortcut.stride, block.target,
                block.rows, block.stride);
        } else {
            kernels::residual_add_backward<typename decltype(block)::activation, S::output_width, Context::output_stride>(
                ctx.rows(), ctx.dz(), Context::dz_stride, block.target, block.rows, block.stride, shortcut.rows,
                shortcut.stride, decltype(shortcut)::accumulate);
        }
    }
};

// The projection of residual_with: Layer, reading the output of stage Source - 1 (0: the network
// input) instead of the stage before it. Made by the planner.
template <class Layer, std::size_t Source>
struct projection : Layer {
    static_assert(stage_property::affine<Layer>,
                  "residual_with<Projection, Block...>: Projection must be one dense or convolution layer");
    static constexpr std::size_t input_source_plus_one = Source;

    template <std::size_t Index>
    using sources = source_list<Source>;

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, "projection(from ");
        description::put_number(out, Source);
        description::put(out, ") ");
        description::put_layer<Layer, S>(out);
    }
};

namespace detail {

// Stage is the index of the residual_add stage the block closes with (after its projection, if any).
template <std::size_t Stage, class Arriving, class BlockOutput>
constexpr bool check_residual_shapes() {
    if constexpr (!std::is_same_v<Arriving, BlockOutput>) {
        using namespace diagnostic;
        HINGE_REJECT("hinge::residual<Block...>: the block must give back the shape it receives, because its "
                     "output is added to its input; change the last layer of the block to give block_input_shape, or "
                     "use residual_with<Projection, Block...> to project the shortcut",
                     stage_index<Stage>, block_input_shape<Arriving>, block_output_shape<BlockOutput>);
    }
    return true;
}

template <std::size_t Stage, class Projection, class Projected, class BlockOutput>
constexpr bool check_projection_shapes() {
    if constexpr (!std::is_same_v<Projected, BlockOutput>) {
        using namespace diagnostic;
        HINGE_REJECT("hinge::residual_with<Projection, Block...>: the projection must produce the output shape "
                     "of the block, because the two are added; change the projection so that projected_shape equals "
                     "block_output_shape",
                     stage_index<Stage>, Projection, projected_shape<Projected>, block_output_shape<BlockOutput>);
    }
    return true;
}

// What closes a residual block (core/plan.hpp, block_end): an addition of the block's input, or
// of its projection (planned here, reading the block's input), to the block's output.
template <class Projection>
struct residual_closer {
    template <std::size_t Source, class Entering, class Shape, std::size_t Stage>
    struct close {
        static_assert(check_residual_shapes<Stage, Entering, Shape>());
        using stages = stage_list<>;
        using next = sequential<residual_add<Source>>;
    };
};

template <class P>
    requires(!std::is_void_v<P>)
struct residual_closer<P> {
    template <std::size_t Source, class Entering, class Shape, std::size_t Stage>
    struct close {
        static_assert(stage_layer<P> && stage_property::affine<P>,
                      "hinge::residual_with<Projection, Block...>: Projection must be one dense or convolution layer");
        static_assert(Source > 0, "hinge::residual_with: a projection shortcut cannot start at the network input; "
                                  "put a layer before the block");
        using projected = output_shape_of<P, Entering, Stage>;
        static_assert(check_projection_shapes<Stage, P, projected, Shape>());
        using stages = stage_list<stage<projection<P, Source>, identity, Entering, projected>>;
        using next = sequential<residual_add<Stage + 1, true>>;
    };
};

}  // namespace detail

template <class... Block>
struct residual {
    using expansion = sequential<block_begin, Block..., block_end<detail::residual_closer<void>>>;
};

template <class Projection, class... Block>
struct residual_with {
    using expansion = sequential<block_begin, Block..., block_end<detail::residual_closer<Projection>>>;
};

}  // namespace hinge
