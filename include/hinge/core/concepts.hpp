#pragma once
#include <cstddef>
#include <hinge/activations/concepts.hpp>

namespace hinge {

// A layer that opens a stage: dense (affine) or batch_norm. Its width may depend on the
// width arriving from the previous stage; the element-wise activation that follows it is fused
// into the stage's kernels.
template <class L>
concept stage_layer = requires {
    requires L::opens_stage;
    { L::is_affine } -> std::convertible_to<bool>;
    { L::template output_width<1>() } -> std::same_as<std::size_t>;
};

template <class L>
concept affine_layer = stage_layer<L> && L::is_affine;

template <class L>
concept normalization_layer = stage_layer<L> && requires { requires L::is_batch_norm; };

template <class L>
concept layer = stage_layer<L> || elementwise_activation<L>;

}  // namespace hinge
