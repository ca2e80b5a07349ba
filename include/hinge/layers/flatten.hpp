#pragma once
#include <cstddef>
#include <type_traits>

#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/elementwise_stages.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

// flatten: an image <H, W, C> or a sequence <L, C> as the flat vector <H*W*C> that dense
// consumes, in the channels-last order (index (h * W + w) * C + c). Note that PyTorch's
// nn.Flatten on an NCHW tensor orders the same values (c * H + h) * W + w, so the columns of the
// next dense layer's weight are permuted between the two (io::tensor_table does it on load and
// save, so files hold PyTorch's order).
// At run time it is a copy that drops the channel padding of the stored image (a few kB per
// sample, next to the convolutions around it).
struct flatten {
    static constexpr bool opens_stage = true;
    static constexpr const char* name = "flatten";
    static constexpr channel_order_rule channel_order = channel_order_rule::flattens;

    template <class Arriving>
    static constexpr auto output_shape() {
        return shape<Arriving::size>{};
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        static_assert(std::is_same_v<typename Context::activation, identity>,
                      "flatten: an activation after flatten is not supported (flatten is a copy); put it "
                      "before flatten, where it is fused into the layer that produces the values");
        ctx.on_team([&](work_share share) {
            kernels::flatten_forward<S::input_positions, S::input_shape::channels, Context::template input_stride<0>,
                                     Context::output_stride>(ctx.samples(), ctx.input().rows, ctx.output(), share);
        });
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::network_input && !sink::accumulate, "flatten reads the output of the stage before it");
        constexpr std::size_t Cp = Context::template input_stride<0>;
        const detail::member_column_sums<T> sums(ctx.team(), into.target, Cp);
        ctx.on_team([&](work_share share) {
            if (!sums.take(share)) return;
            kernels::flatten_backward<typename sink::activation, S::input_positions, S::input_shape::channels, Cp>(
                ctx.samples(), ctx.dz(), Context::dz_stride, sums.target(share), into.rows, into.stride, share);
        });
        sums.reduce();
    }
};

}  // namespace hinge
