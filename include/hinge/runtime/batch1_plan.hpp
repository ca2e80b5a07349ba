#pragma once
// The batch-1 planner: for each stage of a network, the path its forward pass takes in
// hinge::batch1_inference, the weight format and the layout of its weights, all decided at
// compile time from the stage's kind and sizes. Users (and tests) read the decisions:
//
//     using plan = hinge::batch1_plan<my_net, hinge::weight_format::bf16>;
//     static_assert(plan::stage<0>.path == hinge::batch1_path::rows);
//     static_assert(plan::stage<0>.format == hinge::weight_format::bf16);
//
// Three paths:
//   straight_line  the whole network is one unrolled function: every stage's output stays in
//                  vector registers and the next stage broadcasts it lane by lane (no store and
//                  reload of an intermediate activation); weights in float, laid out for it. Taken
//                  when every stage is dense, the weights are float and fit the limit below.
//   rows           a dense stage streams its weights as rows of 16 outputs per input (float,
//                  bf16 or int8), four independent accumulator sets over the input dimension;
//                  bias, per-row scale and activation applied in registers.
//   general        hinge::forward on float parameters: any network with a stage that is not a
//                  plain dense stage (convolution, batch_norm, pooling, residual, learned
//                  slopes, and any stage kind added later) takes it for every stage, in float.
//
// The layouts do not depend on the instruction set (a weights object built in a baseline file
// serves every arch of runtime dispatch): rows of 16 outputs for the rows path, rows of 8 (one
// AVX2 vector, two SSE vectors) for the straight-line path.
//
// This header does not include xsimd: the plan is a compile-time table, the kernels are in
// kernels/dense.hpp (dense_row, the row product of kernels/row_product.hpp) and kernels/straight_line.hpp.
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <hinge/activations/concepts.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/core/layout.hpp>
#include <hinge/core/batch1_layout.hpp>

namespace hinge {

// The straight-line path is taken up to this many bytes of float weights (the whole network):
// the measured crossover on the AMD EPYC (Zen 4) AVX2 host, docs/performance.md "Batch-1
// latency". Above it the unrolled code grows past the micro-op cache and the rows path wins.
inline constexpr std::size_t batch1_straight_line_limit = 16384;

struct batch1_stage_plan {
    batch1_path path;
    weight_format format;        // float32 on the straight-line and general paths
    batch1_product product;      // straight-line only
    std::size_t input_width;     // fan-in
    std::size_t output_width;    // units
    std::size_t padded_input;    // dot: pad8(In); otherwise In
    std::size_t padded_output;   // straight_line broadcast: pad8(Out); dot: Out; rows: pad16(Out)
    std::size_t weight_offset;   // into the weights block, in elements of the format; no_offset if none
    std::size_t weight_count;    // elements
    std::size_t bias_offset;     // into the float block (padded_output values; dot: 8 per output, lane 0)
    std::size_t scale_offset;    // int8: one scale per output (padded_output values); else no_offset
    std::size_t weight_bytes() const noexcept {
        return weight_count * (format == weight_format::float32 ? 4 : format == weight_format::bf16 ? 2 : 1);
    }
};

namespace detail {

// A stage the fast paths know: dense on a flat input, whose activation has no learned slope and
// which is not the projection of a residual block.
template <class S>
constexpr bool plain_dense_stage() {
    using L = typename S::layer_type;
    if constexpr (!stage_property::affine<L> || S::input_shape::rank != 1) return false;
    else if constexpr (requires { L::input_source_plus_one; }) return false;
    else if constexpr (!std::is_void_v<typename S::reads>) return false;  // reads a value other than the stage before
    else return !learned_slope_activation<typename S::activation> && S::positions == 1 && S::input_positions == 1;
}

template <class Net>
constexpr bool all_plain_dense() {
    bool all = true;
    for_each_index<Net::stage_count>([&](auto i) {
        all = all && plain_dense_stage<typename Net::template stage<decltype(i)::value>>();
    });
    return all;
}

// Micro-ops of the last stage either way (broadcast + FMA per input; FMAs + ~5 for the
// horizontal sum per output).
constexpr bool prefer_dot(std::size_t in, std::size_t out) {
    const std::size_t blocks_out = round_up(out, straight_line_block) / straight_line_block;
    const std::size_t blocks_in = round_up(in, straight_line_block) / straight_line_block;
    return out * (blocks_in + 5) < in * (1 + blocks_out);
}

}  // namespace detail

template <class Net, weight_format Format = weight_format::float32,
          std::size_t StraightLineLimit = batch1_straight_line_limit>
struct batch1_plan {
    static constexpr std::size_t stage_count = Net::stage_count;
    static constexpr weight_format requested_format = Format;
    static constexpr bool all_dense = detail::all_plain_dense<Net>();

    static constexpr std::size_t float_weight_bytes = [] {
        std::size_t bytes = 0;
        for_each_index<stage_count>([&](auto i) {
            using S = typename Net::template stage<decltype(i)::value>;
            if constexpr (affine_layer<typename S::layer_type>) bytes += S::input_width * S::output_width * sizeof(float);
        });
        return bytes;
    }();

    // Input steps the straight-line code writes out (one per input of every stage): bounded so
    // that a network of few, wide inputs cannot unroll into a huge function.
    static constexpr std::size_t unrolled_steps = [] {
        std::size_t steps = 0;
        for_each_index<stage_count>([&](auto i) { steps += Net::template stage<decltype(i)::value>::input_width; });
        return steps;
    }();
    static constexpr std::size_t max_unrolled_steps = 1024;

    static constexpr batch1_path network_path =
        !all_dense ? batch1_path::general
                   : Format == weight_format::float32 && float_weight_bytes <= StraightLineLimit &&
                             unrolled_steps <= max_unrolled_steps
                         ? batch1_path::straight_line
                         : batch1_path::rows;
    // The format the weights are really stored in (general: float, whatever was asked).
    static constexpr weight_format format = network_path == batch1_path::general ? weight_format::float32 : Format;

    struct totals {
        std::size_t weights = 0, floats = 0, widest = 0;
    };

    static constexpr auto table = [] {
        std::array<batch1_stage_plan, stage_count> stages{};
        totals end{};
        for_each_index<stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            using S = typename Net::template stage<i>;
            batch1_stage_plan& s = stages[i];
            s = {network_path, format, batch1_product::broadcast, S::input_width,
                 S::output_width, S::input_width, S::output_width, no_offset, 0, no_offset, no_offset};
            if constexpr (network_path == batch1_path::straight_line) {
                const bool last = i + 1 == stage_count;
                if (last && i > 0 && detail::prefer_dot(S::input_width, S::output_width)) {
                    s.product = batch1_product::dot;
                    s.padded_input = round_up(S::input_width, straight_line_block);
                    s.padded_output = S::output_width;
                    s.weight_count = s.padded_input * S::output_width;
                } else {
                    s.padded_output = round_up(S::output_width, straight_line_block);
                    s.weight_count = S::input_width * s.padded_output;
                }
            } else if constexpr (network_path == batch1_path::rows) {
                s.padded_output = round_up(S::output_width, rows_block);
                s.weight_count = S::input_width * s.padded_output;
            }
            if constexpr (network_path != batch1_path::general) {
                // Every stage's weights start on a 64-byte boundary (16 floats / 32 bf16 / 64 int8).
                s.weight_offset = round_up(end.weights, 64 / sizeof(weight_storage_t<format>));
                end.weights = s.weight_offset + s.weight_count;
                s.bias_offset = end.floats;
                // A dot stage keeps each bias in lane 0 of a zero block of 8, the addend of that
                // output's first product (kernels/straight_line.hpp).
                const std::size_t bias_count =
                    s.product == batch1_product::dot ? s.output_width * straight_line_block : s.padded_output;
                end.floats += round_up(bias_count, rows_block);
                if (format == weight_format::int8) {
                    s.scale_offset = end.floats;
                    end.floats += round_up(s.padded_output, rows_block);
                }
                end.widest = end.widest > s.padded_output ? end.widest : s.padded_output;
            }
        });
        return std::pair{stages, end};
    }();

    static constexpr std::array<batch1_stage_plan, stage_count> stages = table.first;
    template <std::size_t I>
    static constexpr batch1_stage_plan stage = stages[I];

    static constexpr std::size_t weight_count = table.second.weights;  // elements of the format
    static constexpr std::size_t float_count = table.second.floats;    // biases and scales
    static constexpr std::size_t widest_output = table.second.widest;  // padded
    static constexpr std::size_t weight_bytes = weight_count * sizeof(weight_storage_t<format>);
};

}  // namespace hinge
