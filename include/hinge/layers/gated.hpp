#pragma once
// gated<A, B>: the gate of gated convolutions and gated linear units. The arriving value has 2C
// channels; the first C pass through A, the last C through B, and their product is the output:
//
//   y = Act(A(x[:C]) * B(x[C:]))         gated<tanh, sigmoid>: WaveNet's gate
//   glu = gated<identity, sigmoid>       PyTorch's nn.GLU over the channels
//
// It is a stage of its own (a pass over the 2C values the layer before stored): the layer before
// it keeps identity, and the gate's two functions take their derivatives from the stored input.
// A and B are plain element-wise activations (no learned slope, no noise).
#include <array>
#include <cstddef>

#include <hinge/activations/concepts.hpp>
#include <hinge/activations/identity.hpp>
#include <hinge/activations/sigmoid.hpp>
#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/io/activation_names.hpp>
#include <hinge/kernels/merge.hpp>
#include <hinge/layers/merge.hpp>

namespace hinge {

template <class A, class B>
struct gated {
    static_assert(plain_activation<A> && plain_activation<B> && !stochastic_activation<A> && !stochastic_activation<B>,
                  "hinge::gated<A, B>: A and B must be plain element-wise activations (tanh, sigmoid, identity, relu, "
                  "...), because the gate recomputes them from its stored input; a learned slope or noise has no "
                  "place to live there");
    static constexpr bool opens_stage = true;
    static constexpr bool reads_network_input = true;
    static constexpr channel_order_rule channel_order = channel_order_rule::resets;

    template <class Arriving, std::size_t Stage>
    static constexpr auto output_shape() {
        if constexpr (Arriving::channels % 2 != 0) {
            using namespace diagnostic;
            HINGE_REJECT("hinge::gated<A, B>: the arriving value must have an even number of channels, because its "
                         "first half passes through A and its second half through B; give the layer before it 2 C "
                         "channels",
                         stage_index<Stage>, gated, arriving_shape<Arriving>);
            return Arriving{};
        } else {
            return detail::with_channels_t<Arriving, Arriving::channels / 2>{};
        }
    }
    template <class S>
    static constexpr bool streams() {
        return true;
    }
    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, "gated(");
        io::put_activation<Out, A>(out);
        out.put(' ');
        io::put_activation<Out, B>(out);
        description::put(out, ") ");
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        const auto x = ctx.input();
        kernels::gated_forward<A, B, typename Context::activation, Context::stage::output_width, Context::output_stride>(
            ctx.rows(), x.rows, x.stride, ctx.output(), ctx.activation_inputs(), ctx.pre_activation());
    }

    // Backward writes dL/dx of every row into scratch (kernels::gated_backward), then sends it on
    // as any merge sends a gradient: rows at least C + Cp wide, whole panels.
    template <class S, class T>
    static constexpr std::size_t gradient_row = round_up(S::output_width + round_up(S::output_width, panel_width<T>),
                                                         panel_width<T>);
    template <class S, class T, std::size_t Batch, bool Training>
    static constexpr std::array<buffer_spec, 1> buffers() {
        return {buffer_spec{Batch * S::positions * gradient_row<S, T>, true, true}};
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        using V = kernels::vector<T>;
        constexpr std::size_t C = S::output_width, row = gradient_row<S, T>;
        const auto x = ctx.input();
        T* g = ctx.buffer(0);
        kernels::gated_backward<A, B, C, Context::output_stride>(ctx.rows(), x.rows, x.stride, ctx.dz(),
                                                                 Context::dz_stride, g, row);
        constexpr std::size_t operand_width = round_up(2 * C, panel_width<T>);  // the layer before's padded output
        detail::send_gradient<0, 2 * C, operand_width>(
            ctx, [&](std::size_t r, std::size_t c) { return V::load_aligned(g + r * row + c); });
    }
};

// Gated linear unit over the channels (Dauphin et al. 2017; PyTorch's nn.GLU(dim=-1)).
using glu = gated<identity, sigmoid>;

}  // namespace hinge
