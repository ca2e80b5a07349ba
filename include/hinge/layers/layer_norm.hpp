#pragma once
// layer_norm: normalisation over the channels of every row (Ba, Kiros and Hinton 2016), PyTorch's
// nn.LayerNorm(C) on the last dimension: per sample on a vector <N>, per step on a sequence
// <L, C>, per position on an image <H, W, C> (channels last):
//
//   y = Act(gamma (x - mean) / sqrt(var + eps) + beta),   mean and (biased) var over the C channels
//
// gamma (PyTorch's weight, starting at 1) and beta (bias, starting at 0) are learned per channel.
// Unlike batch_norm, a sample's result does not depend on the rest of the batch, so training and
// inference compute the same thing, and it streams one step at a time.
//
// Written only against the stage protocol (core/stage.hpp): this header and its kernel
// (kernels/layer_norm.hpp) are all of it.
#include <array>
#include <cstddef>

#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/layer_norm.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

template <float Epsilon = 1e-5f>
struct layer_norm_with {
    static constexpr bool opens_stage = [] {
        if constexpr (!(Epsilon > 0.0f)) {
            using namespace diagnostic;
            HINGE_REJECT("layer_norm_with<Epsilon>: Epsilon must be positive, because it keeps 1/sqrt(var + eps) "
                         "finite; use e.g. 1e-5f (PyTorch's default)",
                         epsilon<Epsilon>);
        }
        return true;
    }();
    static constexpr float epsilon = Epsilon;
    static constexpr bool normalizes = true;  // the layer before it is initialised for the activation after it
    static constexpr channel_order_rule channel_order = channel_order_rule::keeps;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }

    enum tensor : std::size_t { scale, shift };
    static constexpr std::size_t output_bias_tensor = shift;
    template <class S>
    static constexpr std::array<tensor_spec, 2> tensors() {
        return {unit_vector("scale", tensor_role::scale, "weight", S::output_width, 1.0),
                unit_vector("shift", tensor_role::shift, "bias", S::output_width)};
    }

    // Kept from a training pass: the normalised rows and 1 / std per row. Scratch of backward: two
    // means per row.
    enum buffer : std::size_t { normalized, inverse_std, row_means };
    template <class S, class T, std::size_t Batch, bool Training>
    static constexpr std::array<buffer_spec, 3> buffers() {
        constexpr std::size_t rows = Batch * S::positions;
        return {buffer_spec{rows * round_up(S::output_width, panel_width<T>), false, true},
                buffer_spec{rows, false, true}, buffer_spec{2 * rows, true, true}};
    }

    template <class S>
    static constexpr bool streams() {
        return true;  // per position
    }

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, "layer_norm(epsilon ");
        description::put_float_bits(out, Epsilon);
        description::put(out, ") ");
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        kernels::layer_norm_forward<typename Context::activation, S::output_width, Context::output_stride>(
            ctx.rows(), ctx.input().rows, ctx.parameter(scale), ctx.parameter(shift), static_cast<T>(Epsilon),
            ctx.activation_inputs(), ctx.output(), ctx.pre_activation(),
            Context::training ? ctx.buffer(normalized) : nullptr, Context::training ? ctx.buffer(inverse_std) : nullptr);
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::network_input && !sink::accumulate, "layer_norm reads the output of the stage before it");
        kernels::layer_norm_backward<typename sink::activation, S::output_width, Context::output_stride>(
            ctx.rows(), ctx.dz(), Context::dz_stride, ctx.buffer(normalized), ctx.buffer(inverse_std),
            ctx.parameter(scale), ctx.gradient(scale), into.target, into.rows, into.stride, ctx.buffer(row_means));
    }
};

using layer_norm = layer_norm_with<>;

}  // namespace hinge
