#pragma once
#include <cstddef>
#include <hinge/core/shape.hpp>

namespace hinge {

// dense<Width>: a fully connected layer, y = W x + b, with Width outputs.
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
    static constexpr bool is_affine = true;
    static constexpr std::size_t width = Width;

    template <std::size_t ArrivingWidth>
    static constexpr std::size_t output_width() {
        static_assert(In == any_width || In == ArrivingWidth,
                      "dense<Width, In>: the declared input width In must equal the width arriving "
                      "from the previous layer, because W has exactly In columns");
        return Width;
    }
};

}  // namespace hinge
