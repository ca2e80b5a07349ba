#pragma once
// Storage planning: where every tensor of a network lives inside one aligned block.
//
// The output dimension of every layer is padded to a whole number of panels of 64 bytes
// (16 floats, 8 doubles). Every panel is a multiple of the SIMD width on SSE, AVX and AVX-512,
// so the kernels never need a partial vector and every row starts on a cache line. Padded
// entries are zero in parameters and gradients and never read as inputs.
//
// Weights are stored input-major in panels: for output panel j, the In x P block
//   W[j][k][c] = weight(output j*P + c, input k)
// is contiguous. That is exactly the B operand of the kernels (a panel is streamed row by row),
// so neither inference nor training repacks the weights of the forward pass.
#include <array>
#include <cstddef>

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

struct stage_layout {
    std::size_t input_width;    // logical
    std::size_t output_width;   // logical
    std::size_t padded_output;  // multiple of the panel width
    std::size_t weight_offset;  // into the parameter block, in elements
    std::size_t bias_offset;
    std::size_t activation_offset;  // into a workspace's activation block, per sample row
};

template <class Net, class T>
struct layout {
    static constexpr std::size_t panel = panel_width<T>;
    static constexpr std::size_t stage_count = Net::stage_count;

    static constexpr std::array<stage_layout, stage_count> stages = [] {
        std::array<stage_layout, stage_count> table{};
        std::size_t parameter_end = 0;
        std::size_t activation_end = 0;
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            stage_layout& s = table[i];
            s.input_width = S::input_width;
            s.output_width = S::output_width;
            s.padded_output = round_up(S::output_width, panel);
            s.weight_offset = parameter_end;
            s.bias_offset = s.weight_offset + S::input_width * s.padded_output;
            parameter_end = s.bias_offset + s.padded_output;
            s.activation_offset = activation_end;
            activation_end += s.padded_output;
        });
        return table;
    }();

    static constexpr std::size_t parameter_size =
        stages[stage_count - 1].bias_offset + stages[stage_count - 1].padded_output;
    // Width of all activations of one sample (the sum of the padded outputs).
    static constexpr std::size_t activation_row_size =
        stages[stage_count - 1].activation_offset + stages[stage_count - 1].padded_output;

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
            const std::size_t size = round_up(s.input_width, max_micro_rows) * (rows < depth_block ? rows : depth_block);
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
