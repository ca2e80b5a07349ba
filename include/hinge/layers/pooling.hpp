#pragma once
// Pooling: the maximum or the mean of each channel over windows of positions. No parameters.
// Windows do not overlap (the stride is the window size) and there is no padding: positions past
// the last whole window are dropped, as PyTorch's MaxPool2d(K) does. Overlapping windows would
// need the backward pass to add several contributions per input before applying the previous
// activation's derivative; hinge does not have them yet.
#include <cstddef>

#include <hinge/core/concepts.hpp>
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
    template <class Arriving>
    static constexpr auto output_shape() {
        static_assert(Arriving::rank == Rank,
                      "max_pool2d / avg_pool2d need an image <H, W, C> and max_pool1d / avg_pool1d a "
                      "sequence <L, C>; the arriving value (Arriving) is neither of the right rank");
        constexpr window_geometry g = geometry<Arriving>();
        static_assert(g.out_height > 0 && g.out_width > 0,
                      "pooling: the window is larger than the arriving value (Arriving)");
        if constexpr (Rank == 3) return shape<g.out_height, g.out_width, Arriving::channels>{};
        else return shape<g.out_width, Arriving::channels>{};
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
    template <class Arriving>
    static constexpr auto output_shape() {
        static_assert(Arriving::rank > 1,
                      "global_avg_pool: the arriving value (Arriving) is already flat; it pools an image "
                      "<H, W, C> or a sequence <L, C> to <C>");
        return shape<Arriving::channels>{};
    }
};

}  // namespace hinge
