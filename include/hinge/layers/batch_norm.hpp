#pragma once
#include <cstddef>
#include <hinge/core/concepts.hpp>
#include <hinge/core/diagnostic.hpp>

namespace hinge {

// batch_norm: per-channel normalisation (Ioffe and Szegedy 2015), y = gamma (z - mean) / sqrt(var + eps) + beta.
// After a dense layer a channel is a unit; after a convolution the statistics of a channel are
// taken over the batch and every position, as PyTorch's BatchNorm2d does.
// Training passes use the batch's mean and (biased) variance and update the running statistics
// with momentum (running = (1 - m) running + m batch, the unbiased variance, as PyTorch);
// inference passes use the running statistics. gamma and beta are learned; the running
// statistics are buffers stored after all trainable parameters, so optimizers leave them alone.
// It opens a stage of its own: the activation that follows is applied in the same pass as the
// normalisation. fold_batch_norm() (core/fold.hpp) folds it into the preceding dense or
// convolution layer for inference.
template <float Momentum = 0.1f, float Epsilon = 1e-5f>
struct batch_norm_with {
    // The checks run in the initialiser of `opens_stage`, not at class scope: a failed class-scope
    // static_assert makes clang treat the class as invalid, and the network then adds "not a
    // layer" errors to the one that matters (as for leaky_relu).
    static constexpr bool opens_stage = [] {
        using namespace diagnostic;
        if constexpr (!(Momentum > 0.0f && Momentum <= 1.0f)) {
            HINGE_REJECT("batch_norm_with<Momentum, Epsilon>: Momentum must be in (0, 1], because it is the weight "
                         "of the new batch in the running statistics; use e.g. 0.1f (PyTorch's default)",
                         momentum<Momentum>);
        } else if constexpr (!(Epsilon > 0.0f)) {
            HINGE_REJECT("batch_norm_with<Momentum, Epsilon>: Epsilon must be positive, because it keeps "
                         "1/sqrt(var + eps) finite; use e.g. 1e-5f (PyTorch's default)",
                         epsilon<Epsilon>);
        }
        return true;
    }();
    static constexpr stage_kind kind = stage_kind::batch_norm;
    static constexpr float momentum = Momentum;
    static constexpr float epsilon = Epsilon;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }
};

using batch_norm = batch_norm_with<>;

}  // namespace hinge
