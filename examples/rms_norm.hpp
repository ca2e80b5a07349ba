#pragma once
// A layer of your own, with no edit to hinge: RMS normalisation (Zhang and Sennrich 2019),
//
//   y = Act(g * x / rms(x)),   rms(x) = sqrt(mean over the channels of x^2 + eps),
//
// with one learned gain g per channel. The struct declares what hinge needs (core/stage.hpp): its
// shape rule, its tensor, the buffers it keeps and uses, and its forward and backward on the
// values a stage context hands it. From that, hinge plans it, stores and initialises its gain,
// fuses the activation written after it, trains it, streams it, saves and loads it, and checks
// its gradient like any of its own layers (examples/custom_layer.cpp uses it,
// tests/layers/custom_layer.cpp checks it; docs/design.md, "Writing a layer", walks through it).
//
// It is written in plain loops: the stage context's write_output() applies the fused activation,
// write_input_gradient() the previous stage's derivative, skip gradient and column sums. hinge's
// own layers do the same with SIMD kernels (layers/layer_norm.hpp).
#include <array>
#include <cmath>
#include <cstddef>

#include <hinge/core/stage.hpp>

namespace my {

template <float Epsilon = 1e-6f>
struct rms_norm {
    static constexpr bool opens_stage = true;                // a stage of its own
    static constexpr const char* name = "rms_norm";          // in descriptions and files
    static constexpr bool normalizes = true;                 // initialise the layer before for the activation after
    static constexpr hinge::channel_order_rule channel_order = hinge::channel_order_rule::keeps;  // element-wise per channel

    // Every row keeps its shape.
    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }

    // One tensor: the gain, one per channel, starting at 1 (PyTorch's RMSNorm calls it "weight").
    enum tensor : std::size_t { gain };
    template <class S>
    static constexpr std::array<hinge::tensor_spec, 1> tensors() {
        return {hinge::unit_vector("gain", hinge::tensor_role::scale, "weight", S::output_width, 1.0)};
    }

    // Kept from forward for backward: 1 / rms of every row. Scratch of backward (shared with every
    // other stage's scratch, training workspaces only): one mean per row.
    enum buffer : std::size_t { inverse_rms, row_means };
    template <class S, class T, std::size_t Batch, bool Training>
    static constexpr std::array<hinge::buffer_spec, 2> buffers() {
        return {hinge::buffer_spec{Batch * S::positions}, hinge::buffer_spec{Batch * S::positions, true, true}};
    }

    // Each row is normalised on its own: one step at a time equals the whole sequence.
    template <class S>
    static constexpr bool streams() {
        return true;
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using T = typename Context::value_type;
        constexpr std::size_t channels = Context::stage::output_width;
        const auto in = ctx.input();  // rows of in.stride values, `channels` of them ours
        const T* g = ctx.parameter(gain);
        T* inverse = ctx.buffer(inverse_rms);
        for (std::size_t r = 0; r < ctx.rows(); ++r) {
            T squares = 0;
            for (std::size_t c = 0; c < channels; ++c) squares += in.rows[r * in.stride + c] * in.rows[r * in.stride + c];
            inverse[r] = T(1) / std::sqrt(squares / channels + T(Epsilon));
        }
        // The pre-activation of every unit; the activation written after the layer is applied here.
        ctx.write_output([&](std::size_t r, std::size_t c) { return g[c] * in.rows[r * in.stride + c] * inverse[r]; });
    }

    // dz = dL/du of this stage arrives with the activation's derivative applied. With s = 1/rms:
    //   dg_c = sum_r dz_rc x_rc s_r,   dx_rc = s_r (g_c dz_rc - x_rc s_r^2 mean_k(g_k dz_rk x_rk)).
    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using T = typename Context::value_type;
        constexpr std::size_t channels = Context::stage::output_width;
        const auto in = ctx.input();
        const T* dz = ctx.dz();
        const T* g = ctx.parameter(gain);
        const T* s = ctx.buffer(inverse_rms);
        T* dg = ctx.gradient(gain);
        T* mean = ctx.buffer(row_means);
        for (std::size_t c = 0; c < channels; ++c) dg[c] = 0;
        for (std::size_t r = 0; r < ctx.rows(); ++r) {
            T sum = 0;
            for (std::size_t c = 0; c < channels; ++c) {
                const T x = in.rows[r * in.stride + c], d = dz[r * Context::dz_stride + c];
                dg[c] += d * x * s[r];
                sum += g[c] * d * x;
            }
            mean[r] = sum / channels;
        }
        ctx.write_input_gradient([&](std::size_t r, std::size_t c) {
            const T x = in.rows[r * in.stride + c];
            return s[r] * (g[c] * dz[r * Context::dz_stride + c] - x * s[r] * s[r] * mean[r]);
        });
    }
};

}  // namespace my
