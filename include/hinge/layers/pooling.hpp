#pragma once
// Pooling: the maximum or the mean of each channel over windows of positions. No parameters.
// Windows do not overlap (the stride is the window size) and there is no padding: positions past
// the last whole window are dropped, as PyTorch's MaxPool2d(K) does. Overlapping windows would
// need the backward pass to add several contributions per input before applying the previous
// activation's derivative; hinge does not have them yet.
#include <cstddef>
#include <type_traits>

#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/core/window.hpp>
#include <hinge/kernels/pooling.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

namespace detail {

// The stage of every pooling layer (core/stage.hpp): no parameters, one pass forward, one back.
template <pooling_kind Kind, bool Global>
struct pooling_stage {
    static constexpr bool opens_stage = true;
    static constexpr pooling_kind reduction = Kind;
    static constexpr bool global = Global;
    // PyTorch: MaxPool / AvgPool, or global_avg_pool's AdaptiveAvgPool(1) then Flatten.
    static constexpr std::size_t torch_modules = Global ? 2 : 1;

    template <class S>
    static constexpr window_geometry geometry_of() {
        return S::layer_type::template geometry<typename S::input_shape>();
    }

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, Kind == pooling_kind::max ? "max_pool" : "avg_pool");
        description::put_geometry(out, geometry_of<S>());
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        const kernels::activation_inputs<typename Context::value_type> activation = ctx.activation_inputs();
        ctx.on_team([&](work_share share) {
            kernels::pooling_forward<typename Context::activation, Kind, geometry_of<S>(), Context::output_stride>(
                ctx.samples(), ctx.input().rows, ctx.output(), activation, ctx.pre_activation(), share);
        });
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::network_input && !sink::accumulate, "pooling reads the output of the stage before it");
        constexpr std::size_t Cp = Context::template input_stride<0>;
        const member_column_sums<T> sums(ctx.team(), into.target, Cp);
        ctx.on_team([&](work_share share) {
            if (!sums.take(share)) return;
            kernels::pooling_backward<typename sink::activation, Kind, geometry_of<S>(), Cp>(
                ctx.samples(), ctx.input().rows, ctx.dz(), Context::dz_stride, sums.target(share), into.rows,
                into.stride, share);
        });
        sums.reduce();
    }
};

template <pooling_kind Kind, std::size_t Rank, std::size_t Window>
struct window_pool : pooling_stage<Kind, false> {
    static_assert(Window > 0, "pooling: the window must be at least 1");

    template <class Arriving>
    static constexpr window_geometry geometry() {
        constexpr std::size_t kh = Rank == 3 ? Window : 1;
        return make_window_geometry<Arriving>(kh, Window, kh, Window, 1, 1, padding::valid);
    }
    // The shape of a window_pool with a given output extent (Rank 3: Out x Out positions).
    template <std::size_t Height, std::size_t Width, std::size_t Channels>
    using pooled = std::conditional_t<Rank == 3, shape<Height, Width, Channels>, shape<Width, Channels>>;

    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        using namespace diagnostic;
        if constexpr (Arriving::rank != Rank) {
            HINGE_REJECT("max_pool2d / avg_pool2d need an image <H, W, C> and max_pool1d / avg_pool1d a sequence "
                         "<L, C>; the arriving value (arriving_shape) is not of the right rank, because the window "
                         "slides over its positions; use the pooling of its rank, or global_avg_pool",
                         stage_index<Stage>, window_pool, arriving_shape<Arriving>, arriving_rank<Arriving::rank>);
            return pooled<1, 1, Arriving::size>{};  // no further error from the geometry of another rank
        } else {
            constexpr window_geometry g = geometry<Arriving>();
            if constexpr (g.out_height == 0 || g.out_width == 0) {
                HINGE_REJECT("pooling: the window (pooling_window positions per side) is larger than the arriving "
                             "value (arriving_shape), because pooling keeps whole windows only; use a smaller "
                             "window, or pool less before",
                             stage_index<Stage>, window_pool, arriving_shape<Arriving>, pooling_window<Window>);
                return pooled<1, 1, Arriving::channels>{};
            } else {
                return pooled<g.out_height, g.out_width, Arriving::channels>{};
            }
        }
    }
};
}  // namespace detail

template <std::size_t Window>
using max_pool2d = detail::window_pool<pooling_kind::max, 3, Window>;
template <std::size_t Window>
using avg_pool2d = detail::window_pool<pooling_kind::average, 3, Window>;
template <std::size_t Window>
using max_pool1d = detail::window_pool<pooling_kind::max, 2, Window>;
template <std::size_t Window>
using avg_pool1d = detail::window_pool<pooling_kind::average, 2, Window>;

// global_avg_pool: the mean of each channel over all positions, <H, W, C> or <L, C> to <C>.
struct global_avg_pool : detail::pooling_stage<pooling_kind::average, true> {
    template <class Arriving>
    static constexpr window_geometry geometry() {
        return detail::make_window_geometry<Arriving>(Arriving::height, Arriving::width, Arriving::height,
                                                      Arriving::width, 1, 1, padding::valid);
    }
    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        if constexpr (Arriving::rank == 1) {
            using namespace diagnostic;
            HINGE_REJECT("global_avg_pool: the arriving value (arriving_shape) is already flat, because it pools an "
                         "image <H, W, C> or a sequence <L, C> to <C>; remove it, or move it before flatten",
                         stage_index<Stage>, global_avg_pool, arriving_shape<Arriving>);
            return Arriving{};
        } else {
            return shape<Arriving::channels>{};
        }
    }
};

}  // namespace hinge
