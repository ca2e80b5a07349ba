#pragma once
// Shapes of the values that flow between layers, all known at compile time.
//
//   shape<N>          a flat vector of N units (what dense layers consume and produce)
//   shape<L, C>       a sequence: L positions of C channels (conv1d)
//   shape<H, W, C>    an image: H rows of W positions of C channels (conv2d, pooling)
//
// Memory layout, per sample: channels-last (the C values of one position are contiguous), the
// positions in row-major order. Channels-last makes one SIMD vector = several channels of one
// position, so a convolution is a matrix product with the channels as the vectorised dimension
// (the same kernels and epilogues as dense layers), and per-channel parameters (bias, prelu
// slope, batch-norm scale) are per-column, as they are for dense layers. Inside a network, the
// stored output of a stage pads the channels of each position to whole 64-byte panels (see
// core/layout.hpp); the network's own input and output are unpadded.
#include <cstddef>

namespace hinge {

namespace detail {
template <std::size_t... Dims>
constexpr std::size_t dimension(std::size_t i) {
    const std::size_t all[] = {Dims...};
    return all[i];
}
}  // namespace detail

template <std::size_t... Dims>
struct shape {
    static_assert(sizeof...(Dims) >= 1 && sizeof...(Dims) <= 3,
                  "shape<Dims...>: hinge supports shapes <N>, <L, C> and <H, W, C>");
    static_assert(((Dims > 0) && ...), "shape<Dims...>: every dimension must be at least 1");

    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::size_t size = (Dims * ...);

    // Dimension i (0: the outermost).
    static constexpr std::size_t dimension(std::size_t i) { return detail::dimension<Dims...>(i); }
    // The last dimension is the channels; everything before it is positions.
    static constexpr std::size_t channels = detail::dimension<Dims...>(rank - 1);
    static constexpr std::size_t positions = size / channels;
    // As an image: a sequence <L, C> is one row of L positions; a flat <N> is one position.
    static constexpr std::size_t height = rank == 3 ? detail::dimension<Dims...>(0) : 1;
    static constexpr std::size_t width = rank == 3   ? detail::dimension<Dims...>(1)
                                         : rank == 2 ? detail::dimension<Dims...>(0)
                                                     : 1;
};

// input<Dims...>: the first argument of every network; all other shapes are inferred from it.
// input<N> is a flat vector, input<L, C> a sequence, input<H, W, C> an image (channels last).
template <std::size_t... Dims>
struct input {
    static_assert(sizeof...(Dims) >= 1 && sizeof...(Dims) <= 3,
                  "input<Dims...>: write input<N> (a vector), input<L, C> (a sequence) or input<H, W, C> (an image)");
    static_assert(((Dims > 0) && ...),
                  "input<Dims...>: every dimension must be at least 1, because a network needs a value to work on");
    using shape_type = shape<Dims...>;
    static constexpr std::size_t width = shape_type::size;
};

// A layer that accepts any input width says so with any_width.
inline constexpr std::size_t any_width = 0;

namespace detail {
template <class T>
inline constexpr bool is_input = false;
template <std::size_t... N>
inline constexpr bool is_input<input<N...>> = true;

template <class T>
inline constexpr bool is_shape = false;
template <std::size_t... N>
inline constexpr bool is_shape<shape<N...>> = true;

// The shape of input<...>; shape<1> for anything else, so that a missing input<N> produces one
// clear error (in network<>) instead of a cascade.
template <class T>
struct input_shape_of {
    using type = shape<1>;
};
template <std::size_t... N>
struct input_shape_of<input<N...>> {
    using type = shape<N...>;
};
}  // namespace detail

template <class Shape>
inline constexpr bool is_flat = Shape::rank == 1;

}  // namespace hinge
