#pragma once
// Pooling: the maximum or the mean of each channel over windows of positions. No parameters.
// Windows do not overlap (the stride is the window size) and there is no padding: positions past
// the last whole window are dropped, as PyTorch's MaxPool2d(K) does. Overlapping windows would
// need the backward pass to add several contributions per input before applying the previous
// activation's derivative; hinge does not have them yet.
#include <cstddef>
#include <type_traits>

#include <hinge/core/concepts.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/layers/window.hpp>

namespace hinge {

enum class pooling_kind { max, average };

namespace detail {
template <pooling_kind Kind, std::size_t Rank, std::size_t Window>
struct window_pool {
    static_assert(Window > 0, "pooling: the window must be at least 1");

    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::pooling;
    static constexpr pooling_kind reduction = Kind;
    static constexpr bool global = false;

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
struct global_avg_pool {
    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::pooling;
    static constexpr pooling_kind reduction = pooling_kind::average;
    static constexpr bool global = true;

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
