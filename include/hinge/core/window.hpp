#pragma once
// The geometry shared by convolutions and pooling: a window of Kh x Kw positions slid over an
// input of H x W positions with a stride, a dilation and zero padding. A sequence <L, C> is an
// image of one row (H = 1), so conv1d and conv2d share one kernel.
#include <cstddef>

namespace hinge {

// How a window treats the border.
//   valid: no padding; the output has floor((in - span) / stride) + 1 positions.
//   same:  zero padding so that the output has ceil(in / stride) positions; when the total
//          padding is odd the extra row/column goes after (bottom/right), as TensorFlow does.
//          For stride 1 and an odd kernel this is PyTorch's padding = (K - 1) / 2 * dilation.
//   causal: (conv1d, stride 1 only) zero padding of (K - 1) * dilation positions before the
//          sequence and none after, so output position t sees inputs t, t - d, ..., t - (K - 1) d
//          and never a later one, and the output is as long as the input: the convolution of
//          WaveNet / TCN stacks, which can run one sample at a time (runtime/stream.hpp keeps
//          the past inputs it needs). PyTorch: F.pad(x, ((K - 1) * d, 0)) before nn.Conv1d.
enum class padding { valid, same, causal };

// What a pooling window keeps of its values.
enum class pooling_kind { max, average };

struct window_geometry {
    std::size_t height, width, channels;        // input positions and channels
    std::size_t kernel_height, kernel_width;
    std::size_t stride_height, stride_width;
    std::size_t dilation_height, dilation_width;
    std::size_t pad_top, pad_left;
    std::size_t out_height, out_width;

    constexpr std::size_t input_positions() const noexcept { return height * width; }
    constexpr std::size_t output_positions() const noexcept { return out_height * out_width; }
    constexpr std::size_t window_size() const noexcept { return kernel_height * kernel_width; }
};

namespace detail {
constexpr std::size_t window_span(std::size_t kernel, std::size_t dilation) { return (kernel - 1) * dilation + 1; }

constexpr std::size_t window_output(std::size_t in, std::size_t kernel, std::size_t stride, std::size_t dilation,
                                    padding pad) {
    if (pad == padding::same) return (in + stride - 1) / stride;
    if (pad == padding::causal) return stride == 1 ? in : 0;  // conv1d rejects another stride first
    const std::size_t span = window_span(kernel, dilation);
    return in < span ? 0 : (in - span) / stride + 1;
}

constexpr std::size_t window_padding_before(std::size_t in, std::size_t kernel, std::size_t stride,
                                            std::size_t dilation, padding pad) {
    if (pad == padding::valid) return 0;
    if (pad == padding::causal) return window_span(kernel, dilation) - 1;
    const std::size_t out = window_output(in, kernel, stride, dilation, pad);
    const std::size_t needed = (out - 1) * stride + window_span(kernel, dilation);
    return needed > in ? (needed - in) / 2 : 0;
}

template <class Shape>
constexpr window_geometry make_window_geometry(std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                                               std::size_t dh, std::size_t dw, padding pad) {
    const std::size_t h = Shape::height, w = Shape::width;
    return {h,  w,  Shape::channels, kh, kw, sh, sw, dh, dw, window_padding_before(h, kh, sh, dh, pad),
            window_padding_before(w, kw, sw, dw, pad), window_output(h, kh, sh, dh, pad),
            window_output(w, kw, sw, dw, pad)};
}
}  // namespace detail

}  // namespace hinge
