#pragma once
// The forward and backward passes: the planned stages, executed in order by the kernels.
// No allocation, no virtual call, no exception; every shape, offset and stride is a constant.
//
//   forward        inference semantics: batch_norm uses running statistics, noise is off
//   train_forward  training semantics: batch statistics (and running-statistics updates),
//                  noise on, and every value the backward pass needs is kept
//   output_gradient / seed_output_gradient   dL/dy of the output -> dL/dz of the last stage
//   backward       every parameter gradient, and optionally the input gradient
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <hinge/core/storage.hpp>
#include <hinge/kernels/batch_norm.hpp>
#include <hinge/kernels/dense.hpp>

namespace hinge {

namespace detail {

enum class pass_kind { inference, training };

// The input rows of stage I and their stride: the network input for stage 0, the previous
// stage's stored output otherwise.
template <class Net, std::size_t I, class T, class Workspace>
struct stage_input {
    const T* rows;
    std::size_t stride;
    stage_input(const Workspace& ws, const T* x) noexcept {
        if constexpr (I == 0) {
            rows = x;
            stride = Net::input_size;
        } else {
            rows = ws.template activation<I - 1>();
            stride = layout<Net, T>::stages[I - 1].padded_output;
        }
    }
};

template <class T>
const T* offset_or_null(const T* base, std::size_t offset) noexcept {
    return offset == no_offset ? nullptr : base + offset;
}
template <class T>
T* offset_or_null(T* base, std::size_t offset) noexcept {
    return offset == no_offset ? nullptr : base + offset;
}

template <pass_kind Kind, class Net, std::size_t Batch, class T, bool ForTraining, class Params>
void run_forward(Params& params, workspace<Net, Batch, T, ForTraining>& ws, const T* x, std::size_t rows,
                 std::uint64_t noise_seed) noexcept {
    constexpr bool training = Kind == pass_kind::training;
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using L = typename S::layer_type;
        using A = typename S::activation;
        constexpr stage_layout s = layout<Net, T>::stages[i];
        const stage_input<Net, i, T, workspace<Net, Batch, T, ForTraining>> in(ws, x);
        const T* p = params.data();
        const kernels::activation_inputs<T> activation{offset_or_null(p, s.slope_offset), training,
                                                       kernels::noise_source{noise_seed + 0x1000003ull * i}};
        T* z = nullptr;
        if constexpr (training && keeps_pre_activation<A>) z = ws.template pre_activation<i>();

        if constexpr (affine_layer<L>) {
            kernels::dense_forward<A, S::input_width, S::output_width>(rows, in.rows, in.stride, p + s.weight_offset,
                                                                        p + s.bias_offset, ws.template activation<i>(),
                                                                        activation, z);
        } else {
            const kernels::batch_norm_parameters<T> bn{p + s.scale_offset, p + s.bias_offset, p + s.running_mean_offset,
                                                       p + s.running_variance_offset, static_cast<T>(L::momentum),
                                                       static_cast<T>(L::epsilon)};
            if constexpr (training) {
                kernels::batch_norm_forward_training<A>(rows, s.padded_output, in.rows, bn, activation,
                                                        params.data() + s.running_mean_offset,
                                                        params.data() + s.running_variance_offset,
                                                        ws.template normalized<i>(), ws.template statistics<i>(), z,
                                                        ws.template activation<i>());
            } else {
                kernels::batch_norm_forward_inference<A>(rows, s.padded_output, in.rows, bn, activation,
                                                         ws.template activation<i>());
            }
        }
    });
}

// Where the backward pass finds stage I's stored values and puts its column sums.
// parameter_data may be null when stage I's activation has no learned slope.
template <class Net, std::size_t I, std::size_t Batch, class T>
kernels::activation_gradient_target<T> gradient_target(const T* parameter_data, workspace<Net, Batch, T, true>& ws,
                                                       gradients<Net, T>& grads) noexcept {
    using A = typename Net::template stage<I>::activation;
    constexpr stage_layout s = layout<Net, T>::stages[I];
    const T* u = nullptr;
    if constexpr (keeps_pre_activation<A>) u = ws.template pre_activation<I>();
    else u = ws.template activation<I>();
    return {u, s.padded_output, parameter_data ? offset_or_null(parameter_data, s.slope_offset) : nullptr,
            grads.data() + s.bias_offset,
            offset_or_null(grads.data(), s.slope_offset)};
}

// The producer of a stage's pre-activation gradient accumulates that stage's column sums, so
// they start at zero.
template <class Net, std::size_t I, class T>
void zero_column_sums(gradients<Net, T>& grads) noexcept {
    constexpr stage_layout s = layout<Net, T>::stages[I];
    T* g = grads.data();
    for (std::size_t j = 0; j < s.padded_output; ++j) g[s.bias_offset + j] = T(0);
    if constexpr (s.slope_offset != no_offset)
        for (std::size_t j = 0; j < s.padded_output; ++j) g[s.slope_offset + j] = T(0);
}

}  // namespace detail

// Runs every stage on `rows` samples (rows <= Batch) of x (rows x Net::input_size, contiguous),
// with inference semantics. Afterwards ws.activation<I>() holds every stage's output and
// ws.output(r) the network's.
template <class Net, std::size_t Batch, class T, bool ForTraining>
void forward(const parameters<Net, T>& params, workspace<Net, Batch, T, ForTraining>& ws, const T* x,
             std::size_t rows = Batch) noexcept {
    detail::run_forward<detail::pass_kind::inference>(params, ws, x, rows, 0);
}

// The same with training semantics, keeping what backward needs. batch_norm stages use batch
// statistics and update their running statistics in params; stochastic activations draw their
// noise from noise_seed (use a new seed per step).
template <class Net, std::size_t Batch, class T>
void train_forward(parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, const T* x,
                   std::size_t rows = Batch, std::uint64_t noise_seed = 0) noexcept {
    detail::run_forward<detail::pass_kind::training>(params, ws, x, rows, noise_seed);
}

// The start of the backward pass: a loss calls it with g = dL/dy(r, j) for every sample r < rows
// and output j < Out, once each; it writes dL/dz of the last stage, the output activation's
// derivative applied on the way, and accumulates that stage's bias (and slope) gradients.
template <class Net, std::size_t Batch, class T>
class output_gradient {
    static constexpr std::size_t last = Net::stage_count - 1;
    using Act = typename Net::template stage<last>::activation;
    static constexpr stage_layout s = layout<Net, T>::stages[last];

public:
    output_gradient(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                    std::size_t rows) noexcept
        : output_gradient(params.data(), ws, grads, rows) {}

    // parameter_data may be null when the output activation has no learned slope.
    output_gradient(const T* parameter_data, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                    std::size_t rows) noexcept
        : target_(detail::gradient_target<Net, last>(parameter_data, ws, grads)),
          dz_(ws.template pre_activation_gradient<last>()) {
        detail::zero_column_sums<Net, last>(grads);
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = s.output_width; j < s.padded_output; ++j) dz_[r * stride + j] = T(0);
    }

    void operator()(std::size_t r, std::size_t j, T g) const noexcept {
        T slope_sum = 0;
        const T u = target_.u[r * target_.u_stride + j];
        const T slope = target_.slope ? target_.slope[j] : T(0);
        const T dz = kernels::activation_gradient<Act>(g, u, slope, slope_sum);
        dz_[r * stride + j] = dz;
        target_.bias_gradient[j] += dz;
        if (target_.slope_gradient) target_.slope_gradient[j] += slope_sum;
    }

private:
    static constexpr std::size_t stride = workspace<Net, Batch, T, true>::gradient_stride;
    kernels::activation_gradient_target<T> target_;
    T* dz_;
};

// seed_output_gradient(params, ws, grads, rows, fn): output_gradient fed with fn(r, j) = dL/dy.
namespace detail {
template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(const T* parameter_data, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                          std::size_t rows, LossGradient& loss_gradient) noexcept {
    const output_gradient<Net, Batch, T> sink(parameter_data, ws, grads, rows);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < Net::output_size; ++j) sink(r, j, static_cast<T>(loss_gradient(r, j)));
}
}  // namespace detail

template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws,
                          gradients<Net, T>& grads, std::size_t rows, LossGradient&& loss_gradient) noexcept {
    detail::seed_output_gradient(params.data(), ws, grads, rows, loss_gradient);
}

// The form without parameters, for networks whose output activation has no learned slope.
template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads, std::size_t rows,
                          LossGradient&& loss_gradient) noexcept {
    static_assert(!has_learned_slope<typename Net::template stage<Net::stage_count - 1>::activation>,
                  "seed_output_gradient(ws, grads, ...): a learned output slope needs the parameters; "
                  "use seed_output_gradient(params, ws, grads, ...)");
    detail::seed_output_gradient(static_cast<const T*>(nullptr), ws, grads, rows, loss_gradient);
}

enum class input_gradient : bool { skip = false, compute = true };

// The backward pass after the output gradient is seeded (following train_forward): fills every
// parameter gradient (overwriting it) and, if asked, ws.input_gradient(). The activation
// derivative of stage l-1 is applied where stage l produces dL/dz_{l-1} (a gemm epilogue, or the
// batch_norm backward pass), so no pass over memory exists for it.
template <class Net, std::size_t Batch, class T>
void backward(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, const T* x,
              gradients<Net, T>& grads, std::size_t rows = Batch,
              input_gradient want_input_gradient = input_gradient::skip) noexcept {
    for_each_index_reversed<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using L = typename S::layer_type;
        using L_ = layout<Net, T>;
        constexpr stage_layout s = L_::stages[i];
        constexpr std::size_t stride = workspace<Net, Batch, T, true>::gradient_stride;
        const T* dz = ws.template pre_activation_gradient<i>();
        const T* p = params.data();
        T* g = grads.data();
        const detail::stage_input<Net, i, T, workspace<Net, Batch, T, true>> in(ws, x);

        if constexpr (affine_layer<L>) {
            kernels::dense_weight_gradient<S::input_width, S::output_width>(rows, in.rows, in.stride, dz, stride,
                                                                            g + s.weight_offset, ws.packed_inputs());
            if constexpr (i > 0) {
                using PrevAct = typename Net::template stage<i - 1>::activation;
                detail::zero_column_sums<Net, i - 1>(grads);
                kernels::dense_input_gradient<PrevAct, S::input_width, S::output_width>(
                    rows, dz, stride, p + s.weight_offset, ws.transposed_weights(),
                    detail::gradient_target<Net, i - 1>(p, ws, grads), ws.template pre_activation_gradient<i - 1>(),
                    stride);
            } else if (want_input_gradient == input_gradient::compute) {
                const kernels::activation_gradient_target<T> none{nullptr, 0, nullptr, nullptr, nullptr};
                kernels::dense_input_gradient<identity, S::input_width, S::output_width>(
                    rows, dz, stride, p + s.weight_offset, ws.transposed_weights(), none, ws.input_gradient_data(),
                    ws.input_gradient_stride);
            }
        } else {
            static_assert(i > 0, "batch_norm cannot open a network");  // network<> rejects it earlier
            using PrevAct = typename Net::template stage<i - 1>::activation;
            detail::zero_column_sums<Net, i - 1>(grads);
            kernels::batch_norm_backward<PrevAct>(rows, s.padded_output, dz, stride, ws.template normalized<i>(),
                                                  ws.template statistics<i>(), p + s.scale_offset, g + s.bias_offset,
                                                  g + s.scale_offset, detail::gradient_target<Net, i - 1>(p, ws, grads),
                                                  ws.template pre_activation_gradient<i - 1>(), stride);
        }
    });
}

}  // namespace hinge
