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
#include <array>
#include <cstddef>
#include <utility>

#include <hinge/activations/concepts.hpp>
#include <hinge/core/concepts.hpp>
#include <hinge/core/network.hpp>

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
    std::size_t input_width;    // logical
    std::size_t output_width;   // logical
    std::size_t padded_output;  // multiple of the panel width
    // Into the parameter block, in elements; no_offset where the stage has no such tensor.
    std::size_t weight_offset;          // dense: In x padded_output, in panels
    std::size_t bias_offset;            // the per-unit additive term: dense b, batch_norm beta
    std::size_t scale_offset;           // batch_norm gamma
    std::size_t slope_offset;           // learned activation slope (prelu)
    std::size_t running_mean_offset;    // batch_norm buffer
    std::size_t running_variance_offset;
    // Into a workspace, in elements per sample row (multiply by the batch size).
    std::size_t activation_offset;      // stored output y
    std::size_t pre_activation_offset;  // training: z, when the activation's derivative needs it
    std::size_t normalized_offset;      // training, batch_norm: (z - mean) / std
    // Into a workspace's per-unit statistics (not per row): batch_norm's 1 / std of the batch.
    std::size_t statistics_offset;
};

template <class Net, class T>
struct layout {
    static constexpr std::size_t panel = panel_width<T>;
    static constexpr std::size_t stage_count = Net::stage_count;

    struct totals {
        std::size_t trainable = 0, parameters = 0, activations = 0, training_rows = 0, statistics = 0;
    };

    static constexpr auto plan = [] {
        std::array<stage_layout, stage_count> table{};
        totals end{};
        // Pass 1: trainable tensors and workspace rows.
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            using L = typename S::layer_type;
            using A = typename S::activation;
            stage_layout& s = table[i];
            s = {S::input_width, S::output_width, round_up(S::output_width, panel),
                 no_offset, no_offset, no_offset, no_offset, no_offset, no_offset,
                 no_offset, no_offset, no_offset, no_offset};
            if constexpr (affine_layer<L>) {
                s.weight_offset = end.trainable;
                end.trainable += S::input_width * s.padded_output;
            } else {
                s.scale_offset = end.trainable;
                end.trainable += s.padded_output;
            }
            s.bias_offset = end.trainable;
            end.trainable += s.padded_output;
            if constexpr (has_learned_slope<A>) {
                s.slope_offset = end.trainable;
                end.trainable += s.padded_output;
            }
            s.activation_offset = end.activations;
            end.activations += s.padded_output;
            if constexpr (keeps_pre_activation<A>) {
                s.pre_activation_offset = end.training_rows;
                end.training_rows += s.padded_output;
            }
            if constexpr (normalization_layer<L>) {
                s.normalized_offset = end.training_rows;
                end.training_rows += s.padded_output;
                s.statistics_offset = end.statistics;
                end.statistics += s.padded_output;
            }
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
        return std::pair{table, end};
    }();

    static constexpr std::array<stage_layout, stage_count> stages = plan.first;

    static constexpr std::size_t trainable_size = plan.second.trainable;
    static constexpr std::size_t parameter_size = plan.second.parameters;
    // Width of all stored outputs of one sample (the sum of the padded outputs).
    static constexpr std::size_t activation_row_size = plan.second.activations;
    // Width of the training-only per-sample rows (pre-activations, normalised values).
    static constexpr std::size_t training_row_size = plan.second.training_rows;
    static constexpr std::size_t statistics_size = plan.second.statistics;

    static constexpr std::size_t padded_input = round_up(Net::input_size, panel);

    static constexpr std::size_t widest_output = [] {
        std::size_t widest = 0;
        for (const stage_layout& s : stages) widest = s.padded_output > widest ? s.padded_output : widest;
        return widest;
    }();

    // Row stride of the pre-activation gradient buffers. One panel more than the widest row when
    // that row is a multiple of 1 KB: a kernel reads a column panel of this buffer down its rows,
    // and a stride that is a multiple of 1 KB maps every row to the same few L1 sets.
    static constexpr std::size_t gradient_stride =
        widest_output * sizeof(T) % 1024 == 0 ? widest_output + panel : widest_output;

    // Scratch for the packed A operand of the weight-gradient product (the transposed input of
    // a stage, In_l rows by one depth block of batch rows), sized for a batch of `rows`.
    static constexpr std::size_t packed_input_size(std::size_t rows) {
        std::size_t largest = 0;
        for (const stage_layout& s : stages) {
            // Row blocks of any micro-kernel height mr <= max_micro_rows cover at most
            // In + max_micro_rows rows (the last block is padded by repeating its last row).
            const std::size_t size = (s.input_width + max_micro_rows) * (rows < depth_block ? rows : depth_block);
            largest = size > largest ? size : largest;
        }
        return largest;
    }

    // Scratch for the transposed weights that the input-gradient product reads: for stage l it
    // holds round_up(In_l) x Out_l values. Stage 0 is included so that the input gradient can be
    // computed for analysis and gradient checks.
    static constexpr std::size_t transposed_weight_size = [] {
        std::size_t largest = 0;
        for (const stage_layout& s : stages) {
            const std::size_t size = round_up(s.input_width, panel) * s.output_width;
            largest = size > largest ? size : largest;
        }
        return largest;
    }();
};

}  // namespace hinge
