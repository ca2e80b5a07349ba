#pragma once
#include <cstddef>
#include <hinge/core/concepts.hpp>
#include <hinge/core/shape.hpp>

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
    static constexpr stage_kind kind = stage_kind::flatten;

    template <class Arriving>
    static constexpr auto output_shape() {
        return shape<Arriving::size>{};
    }
};

}  // namespace hinge
