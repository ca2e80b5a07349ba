#pragma once
// Convolutions: the product of dense layers applied to every window of the input.
//
// Weights: a (Kh * Kw * Cin) x Filters matrix, in the same panel storage as dense weights, its
// rows ordered (kernel row, kernel column, input channel): weight(f, (kh * Kw + kw) * Cin + c).
// PyTorch's conv.weight[f, c, kh, kw] is weight(f, (kh * Kw + kw) * Cin + c) here; files
// (io/safetensors.hpp, io/save.hpp) hold PyTorch's [F, C, Kh, Kw] and io::tensor_table reorders.
#include <cstddef>

#include <hinge/core/concepts.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/layers/window.hpp>

namespace hinge {

// conv2d<Filters, Kernel, Stride, Padding, Dilation> on an image <H, W, C>: Kernel x Kernel
// windows, Filters output channels.
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, padding Padding = padding::same,
          std::size_t Dilation = 1>
struct conv2d {
    static_assert(Filters > 0, "conv2d<Filters, Kernel, ...>: Filters must be at least 1");
    static_assert(Kernel > 0, "conv2d<Filters, Kernel, ...>: Kernel must be at least 1");
    static_assert(Stride > 0 && Dilation > 0, "conv2d<Filters, Kernel, Stride, Padding, Dilation>: Stride and Dilation must be at least 1");

    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::convolution;
    static constexpr std::size_t filters = Filters;
    static constexpr padding padding_kind = Padding;

    template <class Arriving>
    static constexpr window_geometry geometry() {
        return detail::make_window_geometry<Arriving>(Kernel, Kernel, Stride, Stride, Dilation, Dilation, Padding);
    }
    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        if constexpr (Arriving::rank != 3) {
            using namespace diagnostic;
            HINGE_REJECT("conv2d: the arriving value (arriving_shape) is not an image <H, W, C>, because conv2d "
                         "slides a 2-D window; use conv1d for a sequence <L, C>, or start the network with "
                         "input<H, W, C>",
                         stage_index<Stage>, conv2d, arriving_shape<Arriving>, arriving_rank<Arriving::rank>);
            return shape<1, 1, Filters>{};  // no further error from the geometry of a non-image
        } else if constexpr (Padding == padding::causal) {
            using namespace diagnostic;
            HINGE_REJECT("conv2d<..., padding::causal>: causal padding is defined for sequences only, because an "
                         "image has no direction of time; use padding::same or padding::valid, or conv1d on input<L, C>",
                         stage_index<Stage>, conv2d, arriving_shape<Arriving>);
            return shape<Arriving::height, Arriving::width, Filters>{};
        } else {
            constexpr window_geometry g = geometry<Arriving>();
            if constexpr (g.out_height == 0 || g.out_width == 0) {
                using namespace diagnostic;
                HINGE_REJECT("conv2d<..., padding::valid>: the kernel (kernel_span positions, with the dilation) is "
                             "larger than the arriving image (arriving_shape), because a valid window must fit "
                             "inside the image; use padding::same, a smaller kernel or dilation, or pool less before",
                             stage_index<Stage>, conv2d, arriving_shape<Arriving>,
                             kernel_span<detail::window_span(Kernel, Dilation)>);
                return shape<1, 1, Filters>{};  // carry on with a valid shape: one error only
            } else {
                return shape<g.out_height, g.out_width, Filters>{};
            }
        }
    }
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Kernel * Kernel * Arriving::channels;
    }
};

// conv1d<Filters, Kernel, Stride, Padding, Dilation> on a sequence <L, C>. A dilated causal
// stack (WaveNet, TCN) is conv1d<F, 2, 1, padding::causal, D> with D = 1, 2, 4, ...: every layer
// keeps the length, output t depends on inputs up to t only, and hinge::stream runs the stack one
// sample at a time (padding::valid shortens the sequence by (K - 1) D per layer instead).
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, padding Padding = padding::same,
          std::size_t Dilation = 1>
struct conv1d {
    static_assert(Filters > 0, "conv1d<Filters, Kernel, ...>: Filters must be at least 1");
    static_assert(Kernel > 0, "conv1d<Filters, Kernel, ...>: Kernel must be at least 1");
    static_assert(Stride > 0 && Dilation > 0, "conv1d<Filters, Kernel, Stride, Padding, Dilation>: Stride and Dilation must be at least 1");

    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::convolution;
    static constexpr std::size_t filters = Filters;
    static constexpr padding padding_kind = Padding;

    template <class Arriving>
    static constexpr window_geometry geometry() {
        return detail::make_window_geometry<Arriving>(1, Kernel, 1, Stride, 1, Dilation, Padding);
    }
    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        using namespace diagnostic;
        if constexpr (Arriving::rank != 2) {
            HINGE_REJECT("conv1d: the arriving value (arriving_shape) is not a sequence <L, C>, because conv1d "
                         "slides a 1-D window; use conv2d for an image <H, W, C>, or start the network with "
                         "input<L, C>",
                         stage_index<Stage>, conv1d, arriving_shape<Arriving>, arriving_rank<Arriving::rank>);
            return shape<1, Filters>{};  // no further error from the geometry of a non-sequence
        } else if constexpr (Padding == padding::causal && Stride != 1) {
            HINGE_REJECT("conv1d<..., padding::causal>: a causal convolution must have stride 1, because its output "
                         "has one value per input step (what a stream produces sample by sample); use Stride = 1, "
                         "or padding::valid for a strided convolution",
                         stage_index<Stage>, conv1d, diagnostic::stride<Stride>);
            return shape<Arriving::width, Filters>{};
        } else {
            constexpr window_geometry g = geometry<Arriving>();
            if constexpr (g.out_width == 0) {
                HINGE_REJECT("conv1d<..., padding::valid>: the kernel (kernel_span positions, with the dilation) is "
                             "longer than the arriving sequence (arriving_shape), because a valid window must fit "
                             "inside it; use padding::same, a smaller kernel or dilation",
                             stage_index<Stage>, conv1d, arriving_shape<Arriving>,
                             kernel_span<detail::window_span(Kernel, Dilation)>);
                return shape<1, Filters>{};
            } else {
                return shape<g.out_width, Filters>{};
            }
        }
    }
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Kernel * Arriving::channels;
    }
};

}  // namespace hinge
