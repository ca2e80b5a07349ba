#pragma once
#include <cstddef>
#include <hinge/core/concepts.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>

namespace hinge {

// dense<Width>: a fully connected layer, y = W x + b, with Width outputs, on a flat input
// (put flatten or global_avg_pool after a convolution), or on a sequence <L, C>, where it is
// applied to every step with the same W and b (as torch.nn.Linear on the last dimension):
// <L, C> -> <L, Width>, e.g. the per-sample output head after a gru or a causal conv1d stack.
// dense<Width, In> also states the input width it expects (the channels C of a sequence), so
// that a block written for one input size fails to compile, naming both sizes, when it is
// placed after a layer of another size.
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

    // Stage is the index of the stage this layer opens (the planner passes it, for the errors).
    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        using namespace diagnostic;
        if constexpr (Arriving::rank == 3) {
            HINGE_REJECT("dense<Width>: the arriving value is an image (arriving_shape), because dense needs a flat "
                         "vector or a sequence <L, C> (applied per step); put flatten or global_avg_pool before dense",
                         stage_index<Stage>, dense, arriving_shape<Arriving>);
            return shape<Width>{};
        } else {
            if constexpr (In != any_width && In != fan_in<Arriving>()) {
                HINGE_REJECT("dense<Width, In>: the declared input width In must equal the width arriving from the "
                             "previous layer, because W has exactly In columns; change In, or the width of the "
                             "layer before",
                             stage_index<Stage>, dense, declared_input_width<In>, arriving_width<fan_in<Arriving>()>);
            }
            if constexpr (Arriving::rank == 2) return shape<Arriving::width, Width>{};
            else return shape<Width>{};
        }
    }
    // The inputs of one output: the whole flat vector, or the channels of one step.
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Arriving::channels;
    }
};

}  // namespace hinge
