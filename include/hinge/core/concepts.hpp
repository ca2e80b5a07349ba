#pragma once
#include <concepts>
#include <cstddef>
#include <hinge/activations/concepts.hpp>

namespace hinge {

// What a stage layer does; the passes (runtime/passes.hpp) and the storage planner
// (core/layout.hpp) switch on it.
enum class stage_kind {
    dense,         // y = x W + b on a flat input
    convolution,   // conv1d / conv2d: the same product over every window of the input
    batch_norm,    // per-channel normalisation with learned scale and shift
    pooling,       // max / average over windows, or over all positions (global)
    flatten,       // <H, W, C> or <L, C> to <H*W*C>: a copy that drops the channel padding
    dropout,       // training: random units set to zero, the rest scaled; inference: a copy
    residual_add,  // closes residual<Block...>: y = x + the input of the block
    recurrent,     // gru / lstm: a cell applied step by step along a sequence, with a hidden state
};

// A layer that opens a stage: it has a kind, and maps the shape arriving from the previous stage
// to its output shape (output_shape<In>(), which is where shape errors are reported). The
// element-wise activation that follows it is fused into the stage's kernels.
template <class L>
concept stage_layer = requires {
    requires L::opens_stage;
    { L::kind } -> std::convertible_to<stage_kind>;
};

// A layer with a weight matrix (fan-in x units, in panels) and a bias: dense and convolutions.
template <class L>
concept affine_layer = stage_layer<L> && (L::kind == stage_kind::dense || L::kind == stage_kind::convolution);

template <class L>
concept dense_layer = stage_layer<L> && L::kind == stage_kind::dense;

template <class L>
concept convolution_layer = stage_layer<L> && L::kind == stage_kind::convolution;

template <class L>
concept normalization_layer = stage_layer<L> && L::kind == stage_kind::batch_norm;

// A recurrent layer (gru, lstm): Gates gate pre-activations per unit from the input (x W_ih + b_ih)
// and from the previous hidden state (h W_hh + b_hh), combined by the layer's cell equations
// (layers/recurrent.hpp describes the interface).
template <class L>
concept recurrent_layer = stage_layer<L> && L::kind == stage_kind::recurrent;

// A layer that can open a network: its first stage reads the raw input (core/network.hpp rejects
// the others there, and the runtime passes skip them so that the rejection is the only error).
template <class L>
concept opens_network = affine_layer<L> || recurrent_layer<L>;

template <class L>
concept layer = stage_layer<L> || elementwise_activation<L>;

}  // namespace hinge
