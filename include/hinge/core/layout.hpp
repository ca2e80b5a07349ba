#pragma once
// Storage planning: where every tensor of a network lives inside one aligned block.
//
// The output dimension of every stage is padded to a whole number of panels of 64 bytes
// (16 floats, 8 doubles). Every panel is a multiple of the SIMD width on SSE, AVX and AVX-512,
// so the kernels never need a partial vector and every row starts on a cache line. Padded
// entries are zero in parameters and gradients and never read as inputs.
//
// Dense weights are stored input-major in panels: for output panel j, the In x P block
//   W[j][k][c] = weight(output j*P + c, input k)
// is contiguous. That is exactly the B operand of the kernels (a panel is streamed row by row),
// so neither inference nor training repacks the weights of the forward pass.
//
// The parameter block holds first every trainable tensor (weights, biases, learned slopes,
// batch-norm scales and shifts), then the buffers (batch-norm running statistics). Optimizers
// update the trainable prefix only.
#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include <hinge/activations/concepts.hpp>
#include <hinge/core/concepts.hpp>
#include <hinge/core/network.hpp>
#include <hinge/layers/window.hpp>

namespace hinge {

inline constexpr std::size_t storage_alignment = 64;

template <class T>
inline constexpr std::size_t panel_width = storage_alignment / sizeof(T);

constexpr std::size_t round_up(std::size_t n, std::size_t multiple) {
    return (n + multiple - 1) / multiple * multiple;
}

// Kernel blocking constants that storage must know to size its scratch (kernels/gemm.hpp uses
// them; they live here because this header must not include xsimd).
// depth_block: rows of a B panel kept in L1 at once (256 x 64 bytes = 16 KB, half of a 32 KB L1).
inline constexpr std::size_t depth_block = 256;
// An upper bound of the micro-kernel's row count on every supported instruction set.
inline constexpr std::size_t max_micro_rows = 32;

inline constexpr std::size_t no_offset = static_cast<std::size_t>(-1);

struct stage_layout {
    stage_kind kind;
    std::size_t input_width;    // fan-in of dense / convolution stages, input channels otherwise
    std::size_t output_width;   // output channels (units)
    std::size_t padded_output;  // output channels rounded up to whole panels
    std::size_t positions;      // output positions per sample (1 for a flat output)
    std::size_t input_positions;
    std::size_t row_size;         // stored output values per sample: positions x padded_output
    std::size_t gradient_stride;  // row stride of this stage's pre-activation gradient
    // Into the parameter block, in elements; no_offset where the stage has no such tensor.
    std::size_t weight_offset;          // dense / convolution: In x padded_output, in panels
    std::size_t bias_offset;            // the per-channel additive term: bias, batch_norm beta
    std::size_t scale_offset;           // batch_norm gamma
    std::size_t slope_offset;           // learned activation slope (prelu)
    std::size_t running_mean_offset;    // batch_norm buffer
    std::size_t running_variance_offset;
    // Into a workspace, in elements per sample (multiply by the batch size).
    std::size_t activation_offset;      // stored output y
    std::size_t pre_activation_offset;  // training: z, when the activation's derivative needs it
    std::size_t normalized_offset;      // training, batch_norm: (z - mean) / std
    std::size_t skip_gradient_offset;   // training, the input of a residual block: the gradient
                                        // arriving through the shortcut, rows like the output
    // Into a workspace's per-channel statistics (not per row): batch_norm's 1 / std of the batch.
    std::size_t statistics_offset;
    // residual_add: the index + 1 of the stage whose output is added (0: the network input);
    // a projection: the index + 1 of the stage it reads. residual_accumulates: another shortcut
    // into the same source wrote its gradient first (backward runs from the last stage down, so
    // the one with the highest index writes, the others add).
    std::size_t residual_source;
    bool residual_accumulates;
    bool residual_projected;  // residual_add of residual_with: the added stage is the projection

    // Recurrent stages (gru, lstm). Gate pre-activations are gate-major, each gate padded to
    // whole panels: gate g of unit j is column g * padded_output + j of a gate_width row, so a
    // recurrent stage's W_ih (input_width x gate_width) and W_hh (output_width x gate_width) are
    // stored exactly like dense weights of gate_width outputs, and b_ih / b_hh like their biases.
    std::size_t gate_width = 0;                          // gates x padded_output
    std::size_t steps = 1;                               // sequence steps the cell runs over (L)
    std::size_t recurrent_weight_offset = no_offset;     // W_hh; weight_offset / bias_offset are W_ih / b_ih
    std::size_t recurrent_bias_offset = no_offset;       // b_hh
    // Into a workspace's sequence rows (inference and training), per sample: the gate values of
    // every step (steps x gate_width; first the input projection a, overwritten by the gates),
    // one more vector per step (steps x padded_output: gru's r_n, lstm's c_t), and the state each
    // step starts from (steps x state_width: h_{t-1}, and for lstm c_{t-1}).
    std::size_t gate_offset = no_offset;
    std::size_t extra_offset = no_offset;
    std::size_t previous_state_offset = no_offset;
    std::size_t state_width = 0;  // padded_output, or 2 x padded_output with a cell state

    // Into a sequence state block (per sample, see sequence_state below): what a stateful stage
    // carries from one pass to the next. Recurrent: h (then c). Causal conv1d: the last
    // (K - 1) * dilation input positions, a ring of context_rows rows of context_row_width values.
    std::size_t state_offset = no_offset;
    std::size_t context_rows = 0;
    std::size_t context_row_width = 0;
};

template <class Net, class T>
struct layout {
    static constexpr std::size_t panel = panel_width<T>;
    static constexpr std::size_t stage_count = Net::stage_count;

    struct totals {
        std::size_t trainable = 0, parameters = 0, activations = 0, training_rows = 0, statistics = 0, skip_rows = 0;
        std::size_t input_skip = no_offset;
        std::size_t sequence_rows = 0, state = 0;
    };

    // Row stride of the pre-activation gradient buffers of flat stages: one panel more than the
    // widest flat row when that row is a multiple of 1 KB. A kernel reads a column panel of this
    // buffer down its rows, and a stride that is a multiple of 1 KB maps every row to the same
    // few L1 sets. (Stages with several positions use their padded channel count: rows of a
    // convolution's gradient are positions, read in order.)
    static constexpr std::size_t flat_gradient_stride = [] {
        std::size_t widest = 0;
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            if constexpr (S::positions == 1) widest = std::max(widest, round_up(S::output_width, panel));
        });
        return widest * sizeof(T) % 1024 == 0 ? widest + panel : widest;
    }();

    static constexpr auto plan = [] {
        std::array<stage_layout, stage_count> table{};
        totals end{};
        // Pass 1: trainable tensors and workspace rows.
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            using L = typename S::layer_type;
            using A = typename S::activation;
            stage_layout& s = table[i];
            const std::size_t padded = round_up(S::output_width, panel);
            s = {L::kind,   S::input_width, S::output_width, padded,    S::positions, S::input_positions,
                 S::positions * padded, S::positions == 1 ? flat_gradient_stride : padded,
                 no_offset, no_offset, no_offset, no_offset, no_offset, no_offset,
                 no_offset, no_offset, no_offset, no_offset, no_offset, 0, false, false};
            if constexpr (affine_layer<L>) {
                s.weight_offset = end.trainable;
                end.trainable += S::input_width * s.padded_output;
            } else if constexpr (normalization_layer<L>) {
                s.scale_offset = end.trainable;
                end.trainable += s.padded_output;
            }
            if constexpr (affine_layer<L> || normalization_layer<L>) {
                s.bias_offset = end.trainable;
                end.trainable += s.padded_output;
            }
            if constexpr (recurrent_layer<L>) {
                s.gate_width = L::gates * padded;
                s.steps = S::input_positions;
                s.state_width = (L::has_cell_state ? 2 : 1) * padded;
                s.weight_offset = end.trainable;
                end.trainable += S::input_width * s.gate_width;
                s.recurrent_weight_offset = end.trainable;
                end.trainable += S::output_width * s.gate_width;
                s.bias_offset = end.trainable;
                end.trainable += s.gate_width;
                s.recurrent_bias_offset = end.trainable;
                end.trainable += s.gate_width;
                s.gate_offset = end.sequence_rows;
                end.sequence_rows += s.steps * s.gate_width;
                s.extra_offset = end.sequence_rows;
                end.sequence_rows += s.steps * padded;
                s.previous_state_offset = end.sequence_rows;
                end.sequence_rows += s.steps * s.state_width;
                s.state_offset = end.state;  // a whole number of panels: h and c start on cache lines
                end.state += s.state_width;
            }
            if constexpr (convolution_layer<L>) {
                constexpr window_geometry g = L::template geometry<typename S::input_shape>();
                if constexpr (L::padding_kind == padding::causal) {
                    s.context_rows = g.pad_left;
                    s.context_row_width = i == 0 ? S::input_shape::channels : round_up(S::input_shape::channels, panel);
                    s.state_offset = end.state;
                    // Rounded up to panels, so that every stage's state (and every sample's block)
                    // starts on a cache line: the recurrent step loads h with aligned loads.
                    end.state += round_up(s.context_rows * s.context_row_width, panel);
                }
            }
            if constexpr (has_learned_slope<A>) {
                s.slope_offset = end.trainable;
                end.trainable += s.padded_output;
            }
            s.activation_offset = end.activations;
            end.activations += s.row_size;
            if constexpr (keeps_pre_activation<A>) {
                s.pre_activation_offset = end.training_rows;
                end.training_rows += s.row_size;
            }
            if constexpr (normalization_layer<L>) {
                s.normalized_offset = end.training_rows;
                end.training_rows += s.row_size;
                s.statistics_offset = end.statistics;
                end.statistics += s.padded_output;
            }
            if constexpr (L::kind == stage_kind::residual_add) {
                s.residual_source = L::source_plus_one;
                s.residual_projected = L::projected;
            }
            if constexpr (requires { L::input_source_plus_one; }) s.residual_source = L::input_source_plus_one;
        });
        // Pass 2: buffers, after every trainable tensor.
        end.parameters = end.trainable;
        for (stage_layout& s : table) {
            if (s.scale_offset != no_offset) {
                s.running_mean_offset = end.parameters;
                s.running_variance_offset = end.parameters + s.padded_output;
                end.parameters += 2 * s.padded_output;
            }
        }
        // Pass 3: shortcut gradients, one buffer per residual source, rows like its output. The
        // writers are the residual_add stages with an identity shortcut and the projections.
        for (std::size_t i = stage_count; i-- > 0;) {
            const bool identity_shortcut = table[i].kind == stage_kind::residual_add && !table[i].residual_projected;
            const bool projection = table[i].kind != stage_kind::residual_add && table[i].residual_source != 0;
            if (!identity_shortcut && !projection) continue;
            const std::size_t source = table[i].residual_source;
            std::size_t& offset = source == 0 ? end.input_skip : table[source - 1].skip_gradient_offset;
            if (offset != no_offset) {
                table[i].residual_accumulates = true;
                continue;
            }
            offset = end.skip_rows;
            end.skip_rows += source == 0 ? round_up(Net::input_size, panel) : table[source - 1].row_size;
        }
        return std::pair{table, end};
    }();

    static constexpr std::array<stage_layout, stage_count> stages = plan.first;

    static constexpr std::size_t trainable_size = plan.second.trainable;
    static constexpr std::size_t parameter_size = plan.second.parameters;
    // Width of all stored outputs of one sample (the sum of the stages' row sizes).
    static constexpr std::size_t activation_row_size = plan.second.activations;
    // Width of the training-only per-sample rows (pre-activations, normalised values).
    static constexpr std::size_t training_row_size = plan.second.training_rows;
    static constexpr std::size_t statistics_size = plan.second.statistics;
    static constexpr std::size_t skip_row_size = plan.second.skip_rows;
    // Per sample: the recurrent stages' gate, extra and previous-state rows (every workspace).
    static constexpr std::size_t sequence_row_size = plan.second.sequence_rows;
    // Per sample: everything the stateful stages carry between passes (recurrent h and c, the
    // causal convolutions' past inputs).
    static constexpr std::size_t state_size = plan.second.state;
    static constexpr bool has_state = state_size > 0;
    // Where the shortcut gradient of a residual block that starts at the network input waits.
    static constexpr std::size_t input_skip_offset = plan.second.input_skip;

    static constexpr std::size_t padded_input = round_up(Net::input_size, panel);

    // Per sample, the largest pre-activation gradient of any stage.
    static constexpr std::size_t gradient_row_size = [] {
        std::size_t largest = 0;
        for (const stage_layout& s : stages) largest = std::max(largest, s.positions * s.gradient_stride);
        return largest;
    }();

    // Scratch for the packed A operand of the weight-gradient product (the transposed input of
    // a stage, fan-in rows by one depth block of batch rows or positions), sized for a batch of
    // `rows`.
    static constexpr std::size_t packed_input_size(std::size_t rows) {
        std::size_t largest = 0;
        for (const stage_layout& s : stages) {
            if (s.weight_offset == no_offset) continue;
            // Row blocks of any micro-kernel height mr <= max_micro_rows cover at most
            // In + max_micro_rows rows (the last block is padded by repeating its last row).
            // Convolutions take one product per sample (depth: positions); dense and recurrent
            // stages one over all rows x positions (recurrent: W_hh's fan-in is output_width).
            const std::size_t depth = s.kind == stage_kind::convolution ? s.positions : rows * s.steps * s.positions;
            const std::size_t fan_in = s.kind == stage_kind::recurrent ? std::max(s.input_width, s.output_width)
                                                                       : s.input_width;
            const std::size_t size = (fan_in + max_micro_rows) * (depth < depth_block ? depth : depth_block);
            largest = size > largest ? size : largest;
        }
        return largest;
    }

    // Scratch for the transposed weights that the input-gradient product reads: for a dense stage
    // round_up(In) x Out values; for a convolution round_up(Cin) x (Kh Kw Cout). Stage 0 is
    // included so that the input gradient can be computed for analysis and gradient checks.
    static constexpr std::size_t transposed_weight_size = [] {
        std::size_t largest = 0;
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            if constexpr (affine_layer<typename S::layer_type>) {
                const std::size_t cin = S::input_shape::channels;
                const std::size_t size = round_up(cin, panel) * (S::input_width / cin) * S::output_width;
                largest = std::max(largest, size);
            } else if constexpr (recurrent_layer<typename S::layer_type>) {
                // W_ih^T and W_hh^T, one at a time: gate_width columns of W as rows.
                const std::size_t fan_in = std::max(S::input_width, S::output_width);
                largest = std::max(largest, round_up(fan_in, panel) * stages[i].gate_width);
            }
        });
        return largest;
    }();

    // Per sample, a recurrent stage's forward scratch: r = h W_hh + b_hh of one step.
    static constexpr std::size_t recurrent_step_size = [] {
        std::size_t largest = 0;
        for (const stage_layout& s : stages) largest = std::max(largest, s.gate_width);
        return largest;
    }();
    // Per sample, a recurrent stage's backward scratch: dL/da of every step (steps x gate_width),
    // dL/dr of every step when it differs (gru), and three vectors carried from step to step:
    // dL/dh, dL/dc and the part of dL/dh_{t-1} that bypasses W_hh.
    static constexpr std::size_t recurrent_gradient_size = [] {
        std::size_t largest = 0;
        for_each_index<stage_count>([&](auto i) {
            using L = typename Net::template stage<decltype(i)::value>::layer_type;
            if constexpr (recurrent_layer<L>) {
                const stage_layout& s = stages[i];
                const std::size_t size =
                    s.steps * s.gate_width * (L::same_pre_activation_gradients ? 1 : 2) + 3 * s.padded_output;
                largest = std::max(largest, size);
            }
        });
        return largest;
    }();
    // Per sample: the gradient of a sequence input when stage 0 works per step (dense on a
    // sequence, a recurrent layer), whose product writes rows of whole panels: positions x pad(C),
    // unpadded into the input gradient afterwards.
    static constexpr std::size_t padded_input_gradient_size = [] {
        using S = typename Net::template stage<0>;
        using L = typename S::layer_type;
        if constexpr ((dense_layer<L> || recurrent_layer<L>) && Net::input_shape::rank == 2)
            return Net::input_shape::positions * round_up(Net::input_shape::channels, panel);
        else
            return std::size_t{0};
    }();

    // Per-sample scratch of convolutions: the windows of the input laid out as rows
    // (positions x fan-in, "im2col", forward and weight gradient), the windows of the output
    // gradient seen from each input position (input positions x Kh Kw Cout, input gradient), and
    // the input gradient of a first-stage convolution before its channels are unpadded.
    static constexpr std::size_t window_scratch_size = [] {
        std::size_t largest = 0;
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            if constexpr (convolution_layer<typename S::layer_type>) {
                largest = std::max(largest, S::positions * S::input_width);
            }
        });
        return largest;
    }();
    static constexpr std::size_t gradient_window_scratch_size = [] {
        std::size_t largest = 0;
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            if constexpr (convolution_layer<typename S::layer_type>) {
                const std::size_t cin = S::input_shape::channels;
                std::size_t size = S::input_positions * (S::input_width / cin) * S::output_width;
                // A first-stage convolution's input gradient waits there too, with padded channels.
                if (i == 0) size = round_up(size, panel) + S::input_positions * round_up(cin, panel);
                largest = std::max(largest, size);
            }
        });
        return largest;
    }();
};
}  // namespace hinge
