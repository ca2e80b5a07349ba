#pragma once
// Storage planning: where every tensor, every stored value and every buffer of a network lives,
// computed at compile time from what each stage's layer declares (core/stage.hpp). Nothing here
// knows a layer kind.
//
// Channels are padded to whole panels of 64 bytes (core/panel.hpp). A weight matrix is stored
// input-major in panels: for output panel j, the fan_in x P block
//   W[j][k][c] = weight(output j*P + c, input k)
// is contiguous. That is exactly the B operand of the kernels (a panel is streamed row by row),
// so neither inference nor training repacks the weights of the forward pass.
//
// The parameter block holds first every trainable tensor, stage by stage in the order the layers
// declare them (then the stage's learned activation slope), and then every buffer (tensors a
// layer declares with trainable = false: batch_norm's running statistics). Optimizers update the
// trainable prefix only.
#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include <hinge/activations/concepts.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/panel.hpp>
#include <hinge/core/stage.hpp>

namespace hinge {

// Where one stage lives. Offsets are in elements; no_offset where the stage has no such thing.
struct stage_layout {
    std::size_t input_width = 0;      // fan-in of one output unit (products), input channels otherwise
    std::size_t output_width = 0;     // output channels (units)
    std::size_t padded_output = 0;    // output channels rounded up to whole panels
    std::size_t positions = 1;        // output positions per sample (1 for a flat output)
    std::size_t input_positions = 1;
    std::size_t row_size = 0;         // stored output values per sample: positions x padded_output
    std::size_t gradient_stride = 0;  // row stride of this stage's pre-activation gradient
    std::size_t gradient_buffer = 0;  // which of the workspace's gradient buffers holds it

    // Its tensors are layout::tensors[first_tensor .. first_tensor + tensor_count) (the declared
    // ones, then the activation's learned slope); its inputs layout::inputs[first_input ..).
    std::size_t first_tensor = 0, tensor_count = 0;
    std::size_t first_input = 0, input_count = 0;

    // The offset of each role's first tensor in the parameter block (recurrent_weight_offset and
    // recurrent_bias_offset: the second weight and bias), as generated model headers check them.
    std::size_t weight_offset = no_offset;
    std::size_t bias_offset = no_offset;  // the per-channel additive term: bias, or a shift
    std::size_t scale_offset = no_offset;
    std::size_t slope_offset = no_offset;
    std::size_t running_mean_offset = no_offset;
    std::size_t running_variance_offset = no_offset;
    std::size_t recurrent_weight_offset = no_offset;
    std::size_t recurrent_bias_offset = no_offset;

    // Into a workspace, per sample (multiply by the batch size).
    std::size_t activation_offset = no_offset;      // stored output y
    std::size_t pre_activation_offset = no_offset;  // training: z, when the activation's derivative needs it
    std::size_t skip_gradient_offset = no_offset;   // training: the gradient reaching this stage's output
                                                    // from its other readers, rows like the output
    // Into a sequence state block, per sample: what the stage carries from one pass to the next.
    std::size_t state_offset = no_offset;
    std::size_t state_size = 0;
};

// One value a stage reads. The *fusing* reader of a value is the one with the lowest stage
// index: the backward pass reaches it last, so it produces the value's gradient, applying the
// producer's activation derivative (and adding what the other readers left in the producer's
// skip gradient) in its own epilogue. Every other reader writes its part into that skip
// gradient: the last of them in backward order writes, the others add (`accumulates`).
struct stage_input {
    std::size_t source = 0;  // index + 1 of the producing stage; 0: the network input
    bool fusing = true;
    bool accumulates = false;
};

template <class Net, class T>
struct layout {
    static constexpr std::size_t panel = panel_width<T>;
    static constexpr std::size_t stage_count = Net::stage_count;

private:
    template <std::size_t I>
    using placed = typename Net::template placed<I>;

    template <std::size_t I>
    static constexpr auto stage_tensors() {
        using P = placed<I>;
        constexpr auto declared = detail::declared_tensors<typename P::layer_type, P>();
        constexpr bool slope = has_learned_slope<typename P::activation>;
        std::array<tensor_spec, declared.size() + (slope ? 1 : 0)> all{};
        for (std::size_t k = 0; k < declared.size(); ++k) all[k] = declared[k];
        if constexpr (slope) {
            // The learned slope of the activation (prelu): the "weight" of PyTorch's nn.PReLU,
            // the module after the layer's.
            tensor_spec t = unit_vector("slope", tensor_role::slope, "weight", P::output_width,
                                        static_cast<double>(P::activation::initial_slope));
            t.in_next_module = true;
            all[declared.size()] = t;
        }
        return all;
    }

    static constexpr std::size_t count_tensors() {
        std::size_t n = 0;
        for_each_index<stage_count>([&](auto i) { n += stage_tensors<decltype(i)::value>().size(); });
        return n;
    }
    static constexpr std::size_t count_inputs() {
        std::size_t n = 0;
        for_each_index<stage_count>([&](auto i) { n += placed<decltype(i)::value>::sources::size; });
        return n;
    }

public:
    static constexpr std::size_t tensor_total = count_tensors();
    static constexpr std::size_t input_total = count_inputs();

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

    // The skip gradient of the network input has rows like a stored output (positions of padded
    // channels), so that a product layer that reads the input besides the first stage writes its
    // input gradient there in whole panels, as into any stage's.
    static constexpr std::size_t input_skip_stride = round_up(Net::input_shape::channels, panel);
    static constexpr std::size_t input_skip_row_size = Net::input_shape::positions * input_skip_stride;

    struct totals {
        std::size_t trainable = 0, parameters = 0, activations = 0, training_rows = 0, skip_rows = 0, state = 0;
        std::size_t input_skip = no_offset;
        std::size_t gradient_buffers = 0;
    };

    struct table {
        std::array<stage_layout, stage_count> stages{};
        std::array<tensor_spec, tensor_total> tensors{};
        std::array<std::size_t, tensor_total> tensor_offsets{};
        std::array<stage_input, input_total> inputs{};
        totals end{};
    };

    static constexpr table plan = [] {
        table t{};
        totals& end = t.end;
        std::size_t tensor = 0, input = 0;
        // Pass 1: trainable tensors, stored outputs, carried state, inputs.
        for_each_index<stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            using P = placed<i>;
            using A = typename P::activation;
            stage_layout& s = t.stages[i];
            const std::size_t padded = round_up(P::output_width, panel);
            s.input_width = P::input_width;
            s.output_width = P::output_width;
            s.padded_output = padded;
            s.positions = P::positions;
            s.input_positions = P::input_positions;
            s.row_size = P::positions * padded;
            s.gradient_stride = P::positions == 1 ? flat_gradient_stride : padded;

            constexpr auto tensors = stage_tensors<i>();
            s.first_tensor = tensor;
            s.tensor_count = tensors.size();
            std::size_t weights = 0, biases = 0, unnamed = 0;
            for (const tensor_spec& spec : tensors) {
                t.tensors[tensor] = spec;
                if (spec.trainable) {
                    t.tensor_offsets[tensor] = end.trainable;
                    end.trainable += spec.template storage_size<T>();
                    std::size_t& named = spec.role == tensor_role::weight ? (weights++ == 0 ? s.weight_offset
                                                                                            : s.recurrent_weight_offset)
                                         : spec.role == tensor_role::bias ? (biases++ == 0 ? s.bias_offset
                                                                                           : s.recurrent_bias_offset)
                                         : spec.role == tensor_role::shift ? s.bias_offset
                                         : spec.role == tensor_role::scale ? s.scale_offset
                                         : spec.role == tensor_role::slope ? s.slope_offset
                                                                           : unnamed;  // a trainable running statistic
                    named = t.tensor_offsets[tensor];
                }
                ++tensor;
            }

            s.activation_offset = end.activations;
            end.activations += s.row_size;
            if constexpr (keeps_pre_activation<A>) {
                s.pre_activation_offset = end.training_rows;
                end.training_rows += s.row_size;
            }

            constexpr std::size_t carried = detail::declared_state_size<typename P::layer_type, P, T>();
            if constexpr (carried > 0) {
                // Whole panels, so that every stage's state (and every sample's block) starts on a
                // cache line: the one-step kernels load it aligned.
                s.state_offset = end.state;
                s.state_size = carried;
                end.state += round_up(carried, panel);
            }

            s.first_input = input;
            s.input_count = P::sources::size;
            for (std::size_t source : P::sources::values) t.inputs[input++] = stage_input{source, true, false};
        });
        // Pass 2: buffers, after every trainable tensor, in stage order.
        end.parameters = end.trainable;
        for (std::size_t i = 0; i < stage_count; ++i) {
            stage_layout& s = t.stages[i];
            for (std::size_t k = s.first_tensor; k < s.first_tensor + s.tensor_count; ++k) {
                const tensor_spec& spec = t.tensors[k];
                if (spec.trainable) continue;
                t.tensor_offsets[k] = end.parameters;
                end.parameters += spec.template storage_size<T>();
                if (spec.role == tensor_role::running_mean) s.running_mean_offset = t.tensor_offsets[k];
                if (spec.role == tensor_role::running_variance) s.running_variance_offset = t.tensor_offsets[k];
            }
        }
        // Pass 3: which reader of each value fuses its gradient (the lowest stage index), and a
        // skip gradient buffer for every value with other readers, rows like the value. Backward
        // runs from the last stage down, so among the other readers the highest writes first.
        for (std::size_t i = stage_count; i-- > 0;) {
            const stage_layout& s = t.stages[i];
            for (std::size_t k = s.first_input; k < s.first_input + s.input_count; ++k) {
                stage_input& in = t.inputs[k];
                bool read_earlier = false;  // by a stage with a lower index
                for (std::size_t j = 0; j < i; ++j)
                    for (std::size_t q = t.stages[j].first_input; q < t.stages[j].first_input + t.stages[j].input_count; ++q)
                        read_earlier = read_earlier || t.inputs[q].source == in.source;
                in.fusing = !read_earlier;
                if (in.fusing) continue;
                std::size_t& offset = in.source == 0 ? end.input_skip : t.stages[in.source - 1].skip_gradient_offset;
                if (offset != no_offset) {
                    in.accumulates = true;
                    continue;
                }
                offset = end.skip_rows;
                end.skip_rows += in.source == 0 ? input_skip_row_size : t.stages[in.source - 1].row_size;
            }
        }
        // Pass 4: a gradient buffer for each stage's pre-activation gradient. It is live from the
        // backward step of its fusing reader (which writes it) to the stage's own (which reads it):
        // stages [i, reader]. Two stages whose spans meet need different buffers; the spans are
        // taken in order of their start, each given the first buffer free by then, which uses as
        // few buffers as any assignment can. A chain alternates two buffers; a branch that stays
        // open across others keeps its own.
        std::array<std::size_t, stage_count> busy_until{};  // per buffer: the last stage of its span
        for (std::size_t i = 0; i < stage_count; ++i) {
            std::size_t reader = i;  // the last stage: its gradient comes from the loss
            for (std::size_t j = i + 1; j < stage_count && reader == i; ++j)
                for (std::size_t k = t.stages[j].first_input; k < t.stages[j].first_input + t.stages[j].input_count; ++k)
                    if (t.inputs[k].source == i + 1 && t.inputs[k].fusing) reader = j;
            std::size_t b = 0;
            while (b < end.gradient_buffers && busy_until[b] >= i) ++b;
            if (b == end.gradient_buffers) ++end.gradient_buffers;
            busy_until[b] = reader;
            t.stages[i].gradient_buffer = b;
        }
        return t;
    }();

    static constexpr std::array<stage_layout, stage_count> stages = plan.stages;
    // How many pre-activation gradient buffers a training workspace holds (two for a chain).
    static constexpr std::size_t gradient_buffers = plan.end.gradient_buffers;
    static constexpr std::array<tensor_spec, tensor_total> tensors = plan.tensors;
    static constexpr std::array<std::size_t, tensor_total> tensor_offsets = plan.tensor_offsets;
    static constexpr std::array<stage_input, input_total> inputs = plan.inputs;

    static constexpr std::size_t trainable_size = plan.end.trainable;
    static constexpr std::size_t parameter_size = plan.end.parameters;
    // Width of all stored outputs of one sample (the sum of the stages' row sizes).
    static constexpr std::size_t activation_row_size = plan.end.activations;
    // Width of the training-only per-sample rows (pre-activations).
    static constexpr std::size_t training_row_size = plan.end.training_rows;
    static constexpr std::size_t skip_row_size = plan.end.skip_rows;
    // Per sample: everything the stateful stages carry between passes.
    static constexpr std::size_t state_size = plan.end.state;
    static constexpr bool has_state = state_size > 0;
    // Where the skip gradient of the network input waits (a residual block that starts there).
    static constexpr std::size_t input_skip_offset = plan.end.input_skip;

    static constexpr std::size_t padded_input = round_up(Net::input_size, panel);

    // Per sample, the largest pre-activation gradient of any stage.
    static constexpr std::size_t gradient_row_size = [] {
        std::size_t largest = 0;
        for (const stage_layout& s : stages) largest = std::max(largest, s.positions * s.gradient_stride);
        return largest;
    }();

    // The offset of tensor k of stage I (k in the order its layer declares them).
    template <std::size_t I>
    static constexpr std::size_t tensor_offset(std::size_t k) noexcept {
        return tensor_offsets[stages[I].first_tensor + k];
    }
    // Input k of stage I.
    template <std::size_t I>
    static constexpr stage_input input(std::size_t k) noexcept {
        return inputs[stages[I].first_input + k];
    }
};

// The buffers a stage asks of a workspace (core/stage.hpp), placed for a batch of Batch samples:
// the stage's own buffers one after another, the scratch buffers of every stage over the same
// memory (a stage's scratch lives only during its own call).
template <class Net, class T, std::size_t Batch, bool Training>
struct workspace_layout {
    static constexpr std::size_t panel = panel_width<T>;
    static constexpr std::size_t stage_count = Net::stage_count;

private:
    template <std::size_t I>
    static constexpr auto stage_buffers() {
        using P = typename Net::template placed<I>;
        return detail::declared_buffers<typename P::layer_type, P, T, Batch, Training>();
    }
    static constexpr std::size_t count_buffers() {
        std::size_t n = 0;
        for_each_index<stage_count>([&](auto i) { n += stage_buffers<decltype(i)::value>().size(); });
        return n;
    }

public:
    static constexpr std::size_t buffer_total = count_buffers();

    struct table {
        std::array<std::size_t, buffer_total> offsets{};  // into the kept or the scratch block
        std::array<bool, buffer_total> scratch{};
        std::array<std::size_t, stage_count> first{};
        std::size_t kept = 0, scratch_size = 0;
    };

    static constexpr table plan = [] {
        table t{};
        std::size_t k = 0;
        for_each_index<stage_count>([&](auto index) {
            constexpr auto buffers = stage_buffers<decltype(index)::value>();
            t.first[index] = k;
            std::size_t scratch = 0;
            for (const buffer_spec& b : buffers) {
                const bool present = Training || !b.training_only;
                const std::size_t size = present ? round_up(b.size, panel) : 0;
                t.scratch[k] = b.scratch;
                if (b.scratch) {
                    t.offsets[k] = scratch;
                    scratch += size;
                } else {
                    t.offsets[k] = t.kept;
                    t.kept += size;
                }
                ++k;
            }
            t.scratch_size = std::max(t.scratch_size, scratch);
        });
        return t;
    }();

    static constexpr std::size_t kept_size = plan.kept;
    static constexpr std::size_t scratch_size = plan.scratch_size;

    // Buffer k of stage I (k in the order its layer declares them): whether it is scratch, and
    // its offset in the kept or the scratch block.
    template <std::size_t I>
    static constexpr bool is_scratch(std::size_t k) noexcept {
        return plan.scratch[plan.first[I] + k];
    }
    template <std::size_t I>
    static constexpr std::size_t offset(std::size_t k) noexcept {
        return plan.offsets[plan.first[I] + k];
    }
};

}  // namespace hinge
