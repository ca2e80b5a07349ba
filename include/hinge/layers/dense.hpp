#pragma once
#include <algorithm>
#include <array>
#include <cstddef>

#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

// dense<Width>: a fully connected layer, y = W x + b, with Width outputs, on a flat input
// (put flatten or global_avg_pool after a convolution), or on a sequence <L, C>, where it is
// applied to every step with the same W and b (as torch.nn.Linear on the last dimension):
// <L, C> -> <L, Width>, e.g. the per-sample output head after a gru or a causal conv1d stack.
// dense<Width, In> also states the input width it expects (the channels C of a sequence), so
// that a block written for one input size fails to compile, naming both sizes, when it is
// placed after a layer of another size.
//
// Storage (see core/layout.hpp): W is kept input-major in panels of 64 bytes of outputs, i.e.
// transposed with respect to PyTorch's (out, in) weight; parameters<>::layer<I>() offers the
// logical view weight(out, in).
template <std::size_t Width, std::size_t In = any_width>
struct dense {
    static_assert(Width > 0, "dense<Width>: Width must be at least 1, because a layer needs an output");

    static constexpr bool opens_stage = true;
    static constexpr bool reads_network_input = true;
    static constexpr bool affine = true;
    static constexpr const char* name = "dense";
    static constexpr std::size_t width = Width;

    // Stage is the index of the stage this layer opens (the planner passes it, for the errors).
    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        using namespace diagnostic;
        if constexpr (Arriving::rank == 3) {
            HINGE_REJECT("dense<Width>: the arriving value is an image (arriving_shape), because dense needs a flat "
                         "vector or a sequence <L, C> (applied per step); put flatten or global_avg_pool before dense",
                         stage_index<Stage>, dense, arriving_shape<Arriving>);
            return shape<Width>{};
        } else {
            if constexpr (In != any_width && In != fan_in<Arriving>()) {
                HINGE_REJECT("dense<Width, In>: the declared input width In must equal the width arriving from the "
                             "previous layer, because W has exactly In columns; change In, or the width of the "
                             "layer before",
                             stage_index<Stage>, dense, declared_input_width<In>, arriving_width<fan_in<Arriving>()>);
            }
            if constexpr (Arriving::rank == 2) return shape<Arriving::width, Width>{};
            else return shape<Width>{};
        }
    }
    // The inputs of one output: the whole flat vector, or the channels of one step.
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Arriving::channels;
    }

    // ---- the stage (core/stage.hpp) ----

    // PyTorch's nn.Linear: weight [Width, In], bias [Width]. After flatten, the weight's columns
    // follow PyTorch's flatten order (input_order::arriving).
    enum tensor : std::size_t { weight, bias };
    static constexpr std::size_t output_bias_tensor = bias;
    template <class S>
    static constexpr std::array<tensor_spec, 2> tensors() {
        return {weight_matrix("weight", "weight", S::input_width, Width, S::fan_out, input_order::arriving),
                unit_vector("bias", tensor_role::bias, "bias", Width)};
    }

    // Scratch of the backward products: the packed input of the weight gradient (fan-in rows by
    // one depth block of rows), the transposed weights of the input gradient, and for a first
    // stage on a sequence the input gradient with padded channels before it is unpadded.
    enum buffer : std::size_t { packed_input, transposed_weight, padded_input_gradient };
    // The packing of kernels::dense_weight_gradient for `rows` rows of fan_in inputs.
    static constexpr std::size_t packed_input_size(std::size_t fan_in, std::size_t rows) {
        return (fan_in + max_micro_rows) * std::min(rows, depth_block);
    }
    template <class S, class T, std::size_t Batch, bool Training>
    static constexpr std::array<buffer_spec, 3> buffers() {
        constexpr std::size_t P = panel_width<T>, rows = Batch * S::positions;
        constexpr bool sequence_input = S::reads_network_input && S::input_shape::rank > 1;
        return {buffer_spec{packed_input_size(S::input_width, rows), true, true},
                buffer_spec{round_up(S::input_width, P) * Width, true, true},
                buffer_spec{sequence_input ? Batch * S::input_positions * round_up(S::input_width, P) : 0, true, true}};
    }

    template <class S>
    static constexpr bool streams() {
        return S::input_shape::rank == 2 && S::output_shape::rank == 2;  // per step
    }

    template <class S, class U, std::size_t N>
    static constexpr auto parameter_view(const std::array<U*, N>& t, U* slope) noexcept {
        return dense_view<U, S::input_width, Width>(t[weight], t[bias], slope);
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        const auto in = ctx.input();
        if constexpr (Context::batch == 1 && !Context::training && S::positions == 1) {
            // One row (batch-1 inference, a stream's step): the row product in registers.
            kernels::dense_row<weight_format::float32, typename Context::activation, S::input_width, Width>(
                in.rows, ctx.parameter(weight), ctx.parameter(bias), nullptr, ctx.output(), ctx.activation_inputs());
        } else {
            // On a sequence, one row per (sample, step): the same product with more rows.
            const kernels::activation_inputs<T> activation = ctx.activation_inputs();
            ctx.on_team([&](work_share share) {
                kernels::dense_forward<typename Context::activation, S::input_width, Width>(
                    ctx.rows(), in.rows, in.stride, ctx.parameter(weight), ctx.parameter(bias), ctx.output(), activation,
                    ctx.pre_activation(), share, detail::forward_split<Context::batch * S::positions, Width, T>());
            });
        }
    }

    // The weight gradient and the input gradient read the same dz and write different blocks:
    // one hand-off of a team.
    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        const auto in = ctx.input();
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::accumulate, "dense: a value read by dense and by a later shortcut projection is not "
                                         "supported; nest the residual blocks the other way round");
        // The input gradient of a first stage on a sequence: whole panels per step, unpadded after.
        constexpr bool padded = sink::network_input && S::input_shape::rank > 1;
        T* rows_out = into.rows;
        std::size_t stride_out = into.stride;
        if constexpr (padded) {
            rows_out = into ? ctx.buffer(padded_input_gradient) : nullptr;
            stride_out = round_up(S::input_width, panel_width<T>);
        }
        ctx.on_team([&](work_share share) {
            kernels::dense_weight_gradient<S::input_width, Width>(ctx.rows(), in.rows, in.stride, ctx.dz(),
                                                                  Context::dz_stride, ctx.gradient(weight),
                                                                  ctx.buffer(packed_input), share);
            if (rows_out)
                kernels::dense_input_gradient<typename sink::activation, S::input_width, Width>(
                    ctx.rows(), ctx.dz(), Context::dz_stride, ctx.parameter(weight), ctx.buffer(transposed_weight),
                    into.target, rows_out, stride_out, share);
        });
        if constexpr (padded)
            if (rows_out) ctx.unpad_network_input_gradient(0, ctx.samples(), rows_out, stride_out);
    }
};

}  // namespace hinge
