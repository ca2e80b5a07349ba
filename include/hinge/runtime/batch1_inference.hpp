#pragma once
// hinge::batch1_inference<Net, Format> (opt-in: #include <hinge/runtime/batch1_inference.hpp>, not part of
// <hinge/hinge.hpp>): batch-1 inference on weights converted once, ahead of
// time, into the layout (and optionally the reduced precision) that the batch-1 planner chose
// for each stage (runtime/batch1_plan.hpp). An explicit opt-in beside hinge::inference<Net>:
//
//     auto weights = std::make_unique<hinge::batch1_weights<net, hinge::weight_format::bf16>>();
//     const auto report = weights->assign(params);     // converts; says what it cost
//     hinge::batch1_inference<net, hinge::weight_format::bf16> infer;
//     std::span<const float, 10> y = infer(*weights, x);
//
// After params change, call assign again: the weights object is a copy, not a view.
//
// Accuracy (conversion_report): bf16 rounds each weight to 8 significant bits (relative error
// <= 2^-8); int8 stores round(w / s_o) with s_o = max_k |w_ok| / 127 per output row (absolute
// error <= s_o / 2). For each stage the report gives the largest row sum of |w - w'|, which
// bounds the change of that stage's pre-activation: |z'_o - z_o| <= bound * max_k |x_k|. Float
// weights on the straight-line and rows paths are exact (bound 0): only the summation order
// differs from hinge::inference. Activations and accumulation are float in every format.
//
// Calls allocate nothing, throw nothing and make no virtual call; one object per thread (the
// weights may be shared).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

#include <hinge/core/storage.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/kernels/straight_line.hpp>
#include <hinge/kernels/weight_widening.hpp>
#include <hinge/runtime/batch1_plan.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge {

// What a conversion cost in accuracy. Bounds are on the weights actually stored.
template <std::size_t Stages>
struct conversion_report {
    weight_format format = weight_format::float32;
    batch1_path path = batch1_path::general;
    double max_weight_error = 0;          // max |w - w'| over all weights
    double max_row_relative_error = 0;    // max over rows of max_k |w_ok - w'_ok| / max_k |w_ok|
    std::array<double, Stages> stage_error_bound{};  // max_o sum_k |w_ok - w'_ok| per stage
};

namespace detail {
struct no_fallback {};
}  // namespace detail

template <class Net, weight_format Format = weight_format::float32,
          std::size_t StraightLineLimit = batch1_straight_line_limit>
class batch1_weights {
public:
    using network_type = Net;
    using plan = batch1_plan<Net, Format, StraightLineLimit>;
    using storage_type = weight_storage_t<plan::format>;
    static constexpr bool uses_fallback = plan::network_path == batch1_path::general;

    // Converts params into this object (every weight, bias and scale is overwritten).
    conversion_report<Net::stage_count> assign(const parameters<Net, float>& params) noexcept {
        conversion_report<Net::stage_count> report{plan::format, plan::network_path, 0, 0, {}};
        if constexpr (uses_fallback) {
            fallback_ = params;
        } else {
            weights_.fill(storage_type{});
            floats_.fill(0.0f);
            for_each_index<Net::stage_count>([&](auto index) {
                constexpr std::size_t i = decltype(index)::value;
                constexpr batch1_stage_plan s = plan::stages[i];
                const auto view = params.template layer<i>();
                double stage_bound = 0;
                for (std::size_t o = 0; o < s.output_width; ++o) {
                    double largest = 0;
                    for (std::size_t k = 0; k < s.input_width; ++k)
                        largest = std::max(largest, std::abs(static_cast<double>(view.weight(o, k))));
                    float scale = 1.0f;
                    if constexpr (plan::format == weight_format::int8) {
                        scale = static_cast<float>(largest / 127.0);
                        floats_[s.scale_offset + o] = scale;
                    }
                    double row_error = 0, row_max_error = 0;
                    for (std::size_t k = 0; k < s.input_width; ++k) {
                        const float w = view.weight(o, k);
                        const storage_type stored = encode(w, scale);
                        weights_[index_of<i>(o, k)] = stored;
                        const double error = std::abs(static_cast<double>(w) - decode(stored, scale));
                        row_error += error;
                        row_max_error = std::max(row_max_error, error);
                    }
                    floats_[bias_index<i>(o)] = view.bias(o);
                    stage_bound = std::max(stage_bound, row_error);
                    report.max_weight_error = std::max(report.max_weight_error, row_max_error);
                    if (largest > 0)
                        report.max_row_relative_error = std::max(report.max_row_relative_error, row_max_error / largest);
                }
                report.stage_error_bound[i] = stage_bound;
            });
        }
        return report;
    }

    // The weight the kernels use for output o, input k of stage I (int8: times its row scale).
    template <std::size_t I>
    float weight(std::size_t o, std::size_t k) const noexcept {
        if constexpr (uses_fallback) {
            return fallback_.template layer<I>().weight(o, k);
        } else {
            const float scale = plan::format == weight_format::int8 ? floats_[plan::stages[I].scale_offset + o] : 1.0f;
            return static_cast<float>(decode(weights_[index_of<I>(o, k)], scale));
        }
    }
    template <std::size_t I>
    float bias(std::size_t o) const noexcept {
        if constexpr (uses_fallback) return fallback_.template layer<I>().bias(o);
        else return floats_[bias_index<I>(o)];
    }

    const storage_type* weight_data() const noexcept { return weights_.data(); }
    const float* float_data() const noexcept { return floats_.data(); }
    const parameters<Net, float>& fallback_parameters() const noexcept
        requires uses_fallback
    {
        return fallback_;
    }

    // Bytes of weights read per call (the straight-line and rows layouts include their padding).
    static constexpr std::size_t weight_bytes =
        uses_fallback ? layout<Net, float>::trainable_size * sizeof(float) : plan::weight_bytes;

private:
    static storage_type encode(float w, float scale) noexcept {
        if constexpr (plan::format == weight_format::float32) return w;
        else if constexpr (plan::format == weight_format::bf16) return kernels::bf16_from_float(w);
        else {
            if (!(scale > 0.0f)) return 0;
            const long q = std::lround(static_cast<double>(w) / static_cast<double>(scale));
            return static_cast<std::int8_t>(std::clamp(q, -127L, 127L));
        }
    }
    static double decode(storage_type stored, float scale) noexcept {
        const double value = kernels::widen_scalar<plan::format>(stored);
        return plan::format == weight_format::int8 ? value * static_cast<double>(scale) : value;
    }

    template <std::size_t I>
    static constexpr std::size_t bias_index(std::size_t o) noexcept {
        constexpr batch1_stage_plan s = plan::stages[I];
        return s.bias_offset + (s.product == batch1_product::dot ? o * straight_line_block : o);
    }

    template <std::size_t I>
    static constexpr std::size_t index_of(std::size_t o, std::size_t k) noexcept {
        constexpr batch1_stage_plan s = plan::stages[I];
        if constexpr (s.path == batch1_path::straight_line) {
            if constexpr (s.product == batch1_product::dot) return s.weight_offset + o * s.padded_input + k;
            else return s.weight_offset + k * s.padded_output + o;
        } else {
            return s.weight_offset + o / rows_block * (s.input_width * rows_block) + k * rows_block +
                   kernels::row_position<plan::format>(o % rows_block);
        }
    }

    static constexpr std::size_t at_least_one(std::size_t n) { return n == 0 ? 1 : n; }
    alignas(storage_alignment) std::array<storage_type, at_least_one(plan::weight_count)> weights_{};
    alignas(storage_alignment) std::array<float, at_least_one(plan::float_count)> floats_{};
    [[no_unique_address]] std::conditional_t<uses_fallback, parameters<Net, float>, detail::no_fallback> fallback_{};
};

// The per-call buffers of batch1_inference (the same for every instruction set, so that runtime
// dispatch can hand them to any arch's entry).
template <class Net, weight_format Format = weight_format::float32,
          std::size_t StraightLineLimit = batch1_straight_line_limit>
class batch1_state {
public:
    using plan = batch1_plan<Net, Format, StraightLineLimit>;
    static constexpr bool uses_fallback = plan::network_path == batch1_path::general;

    std::span<const float, Net::output_size> output() const noexcept {
        if constexpr (uses_fallback) {
            return workspace_.output(0);
        } else {
            constexpr std::size_t last = plan::network_path == batch1_path::rows ? (Net::stage_count - 1) % 2 : 0;
            return std::span<const float, Net::output_size>(buffers_[last].data(), Net::output_size);
        }
    }

    workspace<Net, 1, float, false>& fallback_workspace() noexcept
        requires uses_fallback
    {
        return workspace_;
    }
    float* buffer(std::size_t which) noexcept { return buffers_[which].data(); }

private:
    static constexpr std::size_t buffer_size = uses_fallback ? 1 : round_up(plan::widest_output, rows_block);
    alignas(storage_alignment) std::array<std::array<float, buffer_size>, 2> buffers_{};
    [[no_unique_address]] std::conditional_t<uses_fallback, workspace<Net, 1, float, false>, detail::no_fallback>
        workspace_{};
};

inline namespace HINGE_ISA_NAMESPACE {

// The forward pass of batch1_inference for this translation unit's instruction set.
template <class Net, weight_format Format, std::size_t Limit>
void batch1_forward(const batch1_weights<Net, Format, Limit>& weights, batch1_state<Net, Format, Limit>& state,
                    const float* x) noexcept {
    using plan = batch1_plan<Net, Format, Limit>;
    if constexpr (plan::network_path == batch1_path::general) {
        forward(weights.fallback_parameters(), state.fallback_workspace(), x, 1);
    } else if constexpr (plan::network_path == batch1_path::straight_line) {
        kernels::straight_line_forward<Net, plan>(x, weights.weight_data(), weights.float_data(), state.buffer(0));
    } else {
        for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            constexpr batch1_stage_plan s = plan::stages[i];
            using Act = typename Net::template stage<i>::activation;
            const float* in = i == 0 ? x : state.buffer((i - 1) % 2);
            const float* scale = s.scale_offset == no_offset ? nullptr : weights.float_data() + s.scale_offset;
            kernels::dense_row<plan::format, Act, s.input_width, s.output_width>(
                in, weights.weight_data() + s.weight_offset, weights.float_data() + s.bias_offset, scale,
                state.buffer(i % 2));
        });
    }
}

}  // namespace HINGE_ISA_NAMESPACE

// Batch-1 inference on converted weights; see the top of this file.
template <class Net, weight_format Format = weight_format::float32,
          std::size_t StraightLineLimit = batch1_straight_line_limit>
class batch1_inference {
public:
    using plan = batch1_plan<Net, Format, StraightLineLimit>;
    using weights_type = batch1_weights<Net, Format, StraightLineLimit>;

    std::span<const float, Net::output_size> operator()(const weights_type& weights,
                                                        std::span<const float, Net::input_size> x) noexcept {
        batch1_forward(weights, state_, x.data());
        return state_.output();
    }

private:
    batch1_state<Net, Format, StraightLineLimit> state_{};
};

}  // namespace hinge
