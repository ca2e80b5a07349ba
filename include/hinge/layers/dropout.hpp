#pragma once
#include <cstddef>

#include <hinge/core/description.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/elementwise_stages.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

// dropout<Rate>: in training passes, every value is set to zero with probability Rate and the
// others are scaled by 1 / (1 - Rate), so that the expected value is unchanged (inverted
// dropout, as PyTorch). In inference passes it is the identity (a copy). The mask comes from a
// counter-based generator keyed by (the pass's noise seed, the stage, sample, unit): no state, no
// allocation, the same mask for the same seed, and backward recomputes it instead of storing it.
template <float Rate>
struct dropout {
    static_assert(Rate >= 0.0f && Rate < 1.0f,
                  "dropout<Rate>: Rate must be in [0, 1), because it is the probability of dropping a unit");

    static constexpr bool opens_stage = true;
    static constexpr float rate = Rate;
    static constexpr channel_order_rule channel_order = channel_order_rule::keeps;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }

    template <class S>
    static constexpr bool streams() {
        return S::input_shape::rank == 2;  // inference: a copy
    }

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, "dropout(");
        description::put_float_bits(out, Rate);
        description::put(out, ") ");
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        kernels::dropout_forward<typename Context::activation, Context::output_stride>(
            ctx.rows(), ctx.input().rows, ctx.output(), static_cast<double>(Rate), Context::training,
            ctx.activation_inputs(), ctx.pre_activation());
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::network_input && !sink::accumulate, "dropout reads the output of the stage before it");
        kernels::dropout_backward<typename sink::activation, Context::output_stride>(
            ctx.rows(), ctx.dz(), Context::dz_stride, ctx.noise(), static_cast<double>(Rate), into.target, into.rows,
            into.stride);
    }
};

}  // namespace hinge
