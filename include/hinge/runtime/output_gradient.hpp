#pragma once
// The start of the backward pass: output_gradient is the sink a loss writes dL/dy into; it applies
// the last stage's activation derivative on the way and takes that stage's column sums (its bias
// and slope gradients). seed_output_gradient feeds it from a function.
#include <cstddef>

#include <hinge/core/storage.hpp>
#include <hinge/detail/contract.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

inline namespace HINGE_ISA_NAMESPACE {

// A loss calls it with g = dL/dy(r, j) for every output row
// r < rows x output positions and output channel j, once each; it writes dL/dz of the last
// stage, the output activation's derivative applied on the way, and accumulates that stage's
// bias (and slope) gradients. A flat output has one row per sample (j < Net::output_size); a
// sequence output <L, C> one per (sample, step), row r = sample * L + step, j < C.
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
        : target_(detail::gradient_target<Net, last>(parameter_data, ws, grads.data())),
          dz_(ws.template pre_activation_gradient<last>()) {
        detail::expect_rows<Batch>(rows, "output_gradient: rows must be in 1..batch size");
        detail::zero_column_sums<Net, last>(grads.data());
        for (std::size_t r = 0; r < rows * s.positions; ++r)
            for (std::size_t j = s.output_width; j < s.padded_output; ++j) dz_[r * stride + j] = T(0);
    }

    void operator()(std::size_t r, std::size_t j, T g) const noexcept {
        T slope_sum = 0;
        const T u = target_.u[r * target_.u_stride + j];
        const T slope = target_.slope ? target_.slope[j] : T(0);
        const T dz = kernels::activation_gradient<Act>(g, u, slope, slope_sum);
        dz_[r * stride + j] = dz;
        if (target_.bias_gradient) target_.bias_gradient[j] += dz;
        if (target_.slope_gradient) target_.slope_gradient[j] += slope_sum;
    }

private:
    static constexpr std::size_t stride = s.gradient_stride;
    kernels::activation_gradient_target<T> target_;
    T* dz_;
};

}  // inline namespace HINGE_ISA_NAMESPACE

namespace detail::inline HINGE_ISA_NAMESPACE {
template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(const T* parameter_data, workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads,
                          std::size_t rows, LossGradient& loss_gradient) noexcept {
    detail::expect_rows<Batch>(rows, "seed_output_gradient: rows must be in 1..batch size");
    const output_gradient<Net, Batch, T> sink(parameter_data, ws, grads, rows);
    for (std::size_t r = 0; r < rows * Net::output_positions; ++r)
        for (std::size_t j = 0; j < Net::output_channels; ++j) sink(r, j, static_cast<T>(loss_gradient(r, j)));
}
}  // namespace detail::inline HINGE_ISA_NAMESPACE

inline namespace HINGE_ISA_NAMESPACE {
// seed_output_gradient(params, ws, grads, rows, fn): output_gradient fed with fn(r, j) = dL/dy.
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

}  // inline namespace HINGE_ISA_NAMESPACE
}  // namespace hinge
