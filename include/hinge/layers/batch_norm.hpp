#pragma once
#include <array>
#include <cstddef>

#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/batch_norm.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

// The view of a batch_norm stage: scale (gamma), shift (beta), the running statistics, and the
// learned slope of its activation if it has one.
template <class T, std::size_t Width>
class batch_norm_view {
public:
    static constexpr std::size_t input_width = Width;
    static constexpr std::size_t output_width = Width;

    constexpr batch_norm_view(T* scale, T* shift, T* running_mean, T* running_variance, T* slope) noexcept
        : scale_(scale), shift_(shift), mean_(running_mean), variance_(running_variance), slope_(slope) {}

    constexpr T& scale(std::size_t unit) const noexcept { return scale_[unit]; }
    constexpr T& shift(std::size_t unit) const noexcept { return shift_[unit]; }
    constexpr T& running_mean(std::size_t unit) const noexcept { return mean_[unit]; }
    constexpr T& running_variance(std::size_t unit) const noexcept { return variance_[unit]; }
    constexpr T& slope(std::size_t unit) const noexcept { return slope_[unit]; }
    constexpr bool has_slope() const noexcept { return slope_ != nullptr; }

private:
    T* scale_;
    T* shift_;
    T* mean_;
    T* variance_;
    T* slope_;
};


// batch_norm: per-channel normalisation (Ioffe and Szegedy 2015), y = gamma (z - mean) / sqrt(var + eps) + beta.
// After a dense layer a channel is a unit; after a convolution the statistics of a channel are
// taken over the batch and every position, as PyTorch's BatchNorm2d does.
// Training passes use the batch's mean and (biased) variance and update the running statistics
// with momentum (running = (1 - m) running + m batch, the unbiased variance, as PyTorch);
// inference passes use the running statistics. gamma and beta are learned; the running
// statistics are buffers stored after all trainable parameters, so optimizers leave them alone.
// It opens a stage of its own: the activation that follows is applied in the same pass as the
// normalisation. fold_batch_norm() (layers/fold_batch_norm.hpp) folds it into the preceding dense or
// convolution layer for inference.
template <float Momentum = 0.1f, float Epsilon = 1e-5f>
struct batch_norm_with {
    // The checks run in the initialiser of `opens_stage`, not at class scope: a failed class-scope
    // static_assert makes clang treat the class as invalid, and the network then adds "not a
    // layer" errors to the one that matters (as for leaky_relu).
    static constexpr bool opens_stage = [] {
        using namespace diagnostic;
        if constexpr (!(Momentum > 0.0f && Momentum <= 1.0f)) {
            HINGE_REJECT("batch_norm_with<Momentum, Epsilon>: Momentum must be in (0, 1], because it is the weight "
                         "of the new batch in the running statistics; use e.g. 0.1f (PyTorch's default)",
                         momentum<Momentum>);
        } else if constexpr (!(Epsilon > 0.0f)) {
            HINGE_REJECT("batch_norm_with<Momentum, Epsilon>: Epsilon must be positive, because it keeps "
                         "1/sqrt(var + eps) finite; use e.g. 1e-5f (PyTorch's default)",
                         epsilon<Epsilon>);
        }
        return true;
    }();
    static constexpr float momentum = Momentum;
    static constexpr float epsilon = Epsilon;
    // The layer before it is initialised for the activation after it (dense, batch_norm, relu: He).
    static constexpr bool normalizes = true;
    // Training passes normalise with the batch's statistics.
    static constexpr bool couples_samples = true;
    static constexpr channel_order_rule channel_order = channel_order_rule::keeps;

    template <class Arriving>
    static constexpr auto output_shape() {
        return Arriving{};
    }

    // PyTorch's nn.BatchNorm1d / 2d: weight (gamma), bias (beta), and the buffers running_mean and
    // running_var, stored after every trainable tensor.
    enum tensor : std::size_t { scale, shift, running_mean, running_variance };
    static constexpr std::size_t output_bias_tensor = shift;
    template <class S>
    static constexpr std::array<tensor_spec, 4> tensors() {
        constexpr std::size_t C = S::output_width;
        return {unit_vector("scale", tensor_role::scale, "weight", C, 1.0),
                unit_vector("shift", tensor_role::shift, "bias", C),
                unit_vector("running_mean", tensor_role::running_mean, "running_mean", C, 0.0, false),
                unit_vector("running_variance", tensor_role::running_variance, "running_var", C, 1.0, false)};
    }

    // Kept from a training pass for backward: the normalised input, and 1 / std of the batch per channel.
    enum buffer : std::size_t { normalized, inverse_std };
    template <class S, class T, std::size_t Batch, bool Training>
    static constexpr std::array<buffer_spec, 2> buffers() {
        constexpr std::size_t Cp = round_up(S::output_width, panel_width<T>);
        return {buffer_spec{Batch * S::positions * Cp, false, true}, buffer_spec{Cp, false, true}};
    }

    template <class S>
    static constexpr bool streams() {
        return S::input_shape::rank == 2;  // inference: per position
    }

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, "batch_norm(momentum ");
        description::put_float_bits(out, Momentum);
        description::put(out, ", epsilon ");
        description::put_float_bits(out, Epsilon);
        description::put(out, ") ");
    }

    template <class S, class U, std::size_t N>
    static constexpr auto parameter_view(const std::array<U*, N>& t, U* slope) noexcept {
        return batch_norm_view<U, S::output_width>(t[scale], t[shift], t[running_mean], t[running_variance], slope);
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using T = typename Context::value_type;
        using A = typename Context::activation;
        const kernels::batch_norm_parameters<T> bn{ctx.parameter(scale), ctx.parameter(shift), ctx.parameter(running_mean),
                                                   ctx.parameter(running_variance), static_cast<T>(Momentum),
                                                   static_cast<T>(Epsilon)};
        if constexpr (Context::training) {
            kernels::batch_norm_forward_training<A>(ctx.rows(), Context::output_stride, ctx.input().rows, bn,
                                                    ctx.activation_inputs(), ctx.parameter(running_mean),
                                                    ctx.parameter(running_variance), ctx.buffer(normalized),
                                                    ctx.buffer(inverse_std), ctx.pre_activation(), ctx.output());
        } else {
            kernels::batch_norm_forward_inference<A>(ctx.rows(), Context::output_stride, ctx.input().rows, bn,
                                                     ctx.activation_inputs(), ctx.output());
        }
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::network_input && !sink::accumulate, "batch_norm reads the output of the stage before it");
        kernels::batch_norm_backward<typename sink::activation>(
            ctx.rows(), Context::output_stride, ctx.dz(), Context::dz_stride, ctx.buffer(normalized),
            ctx.buffer(inverse_std), ctx.parameter(scale), ctx.gradient(shift), ctx.gradient(scale), into.target,
            into.rows, into.stride);
    }
};

using batch_norm = batch_norm_with<>;

}  // namespace hinge
