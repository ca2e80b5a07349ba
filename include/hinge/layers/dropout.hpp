#pragma once
#include <cstddef>
#include <hinge/core/concepts.hpp>

namespace hinge {

// dropout<Rate>: in training passes, every value is set to zero with probability Rate and the
// others are scaled by 1 / (1 - Rate), so that the expected value is unchanged (inverted
// dropout, as PyTorch). In inference passes it is the identity (a copy). The mask comes from a
// counter-based generator keyed by (the pass's noise seed, the stage, sample, unit): no state, no
// allocation, the same mask for the same seed, and backward recomputes it instead of storing it.
template <float Rate>
struct dropout {
    static_assert(Rate >= 0.0f && Rate < 1.0f,
                  "dropout<Rate>: Rate must be in [0, 1), because it is the probability of dropping a unit");

    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::dropout;
    static constexpr float rate = Rate;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }
};

}  // namespace hinge
