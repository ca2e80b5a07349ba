#pragma once
#include <cstddef>
#include <hinge/core/concepts.hpp>
#include <hinge/core/shape.hpp>

namespace hinge {

// dense<Width>: a fully connected layer, y = W x + b, with Width outputs, on a flat input
// (put flatten or global_avg_pool after a convolution).
// dense<Width, In> also states the input width it expects, so that a block written for one input
// size fails to compile, naming both sizes, when it is placed after a layer of another size.
//
// Storage (see core/layout.hpp): W is kept input-major in panels of 64 bytes of outputs, i.e.
// transposed with respect to PyTorch's (out, in) weight; parameters<>::layer<I>() offers the
// logical view weight(out, in).
template <std::size_t Width, std::size_t In = any_width>
struct dense {
    static_assert(Width > 0, "dense<Width>: Width must be at least 1, because a layer needs an output");

    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::dense;
    static constexpr std::size_t width = Width;

    template <class Arriving>
    static constexpr auto output_shape() {
        static_assert(is_flat<Arriving>,
                      "dense<Width>: the arriving value is an image or a sequence (see Arriving); put "
                      "flatten or global_avg_pool before dense, because dense needs a flat vector");
        static_assert(In == any_width || In == Arriving::size,
                      "dense<Width, In>: the declared input width In must equal the width arriving "
                      "from the previous layer (Arriving), because W has exactly In columns");
        return shape<Width>{};
    }
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Arriving::size;
    }
};

}  // namespace hinge
