#pragma once
#include <cstddef>
#include <hinge/activations/concepts.hpp>

namespace hinge {

// An affine layer: y = W x + b with a width that may depend on the input width. It opens a
// stage; the element-wise activation that follows it is fused into that stage's kernels.
template <class L>
concept affine_layer = requires {
    requires L::is_affine;
    { L::template output_width<1>() } -> std::same_as<std::size_t>;
};

template <class L>
concept layer = affine_layer<L> || elementwise_activation<L>;

}  // namespace hinge
