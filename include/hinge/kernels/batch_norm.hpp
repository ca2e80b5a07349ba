#pragma once
// Batch normalisation over `rows` samples, vectorised across units. Batch statistics are
// column reductions, so a batch_norm stage cannot live in a gemm epilogue; it is its own pass,
// and the activation that follows it is applied in that same pass (forward) and in the pass
// that produces its input gradient (backward).
// Shapes: every buffer is rows x width (width = the padded unit count, row stride = width).
#include <cmath>
#include <cstddef>

#include <hinge/kernels/activation.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

template <class T>
struct batch_norm_parameters {
    const T* scale;  // gamma
    const T* shift;  // beta
    const T* running_mean;
    const T* running_variance;
    T momentum;
    T epsilon;
};

// Training pass: batch mean and biased variance per unit; running statistics updated with the
// unbiased variance (as PyTorch). Stores the normalised input (for backward), 1/std per unit,
// the pre-activation u = gamma * xhat + beta when the activation keeps it, and y = Act(u).
template <class Act, class T>
inline void batch_norm_forward_training(std::size_t rows, std::size_t width, const T* z, const batch_norm_parameters<T>& bn,
                                        const activation_inputs<T>& activation, T* running_mean,
                                        T* running_variance, T* normalized, T* inverse_std, T* pre_activation,
                                        T* y) noexcept {
    using V = vector<T>;
    const V count(static_cast<T>(rows));
    const T unbiased = rows > 1 ? static_cast<T>(rows) / static_cast<T>(rows - 1) : T(1);
    for (std::size_t c = 0; c < width; c += V::size) {
        V sum(T(0));
        for (std::size_t r = 0; r < rows; ++r) sum += V::load_aligned(z + r * width + c);
        const V mean = sum / count;
        V squares(T(0));
        for (std::size_t r = 0; r < rows; ++r) {
            const V d = V::load_aligned(z + r * width + c) - mean;
            squares = multiply_add(d, d, squares);
        }
        const V variance = squares / count;
        const V inv_std = V(T(1)) / xsimd::sqrt(variance + V(bn.epsilon));
        inv_std.store_aligned(inverse_std + c);

        const V m(bn.momentum);
        const V keep(T(1) - bn.momentum);
        (keep * V::load_aligned(bn.running_mean + c) + m * mean).store_aligned(running_mean + c);
        (keep * V::load_aligned(bn.running_variance + c) + m * variance * V(unbiased))
            .store_aligned(running_variance + c);

        const V gamma = V::load_aligned(bn.scale + c);
        const V beta = V::load_aligned(bn.shift + c);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t at = r * width + c;
            const V xhat = (V::load_aligned(z + at) - mean) * inv_std;
            xhat.store_aligned(normalized + at);
            const V u = multiply_add(gamma, xhat, beta);
            if constexpr (keeps_pre_activation<Act>) u.store_aligned(pre_activation + at);
            activate<Act>(u, activation, r, c).store_aligned(y + at);
        }
    }
}

// Inference pass: y = Act(gamma (z - running_mean) / sqrt(running_variance + eps) + beta).
template <class Act, class T>
inline void batch_norm_forward_inference(std::size_t rows, std::size_t width, const T* z, const batch_norm_parameters<T>& bn,
                                         const activation_inputs<T>& activation, T* y) noexcept {
    using V = vector<T>;
    for (std::size_t c = 0; c < width; c += V::size) {
        const V scale = V::load_aligned(bn.scale + c) /
                        xsimd::sqrt(V::load_aligned(bn.running_variance + c) + V(bn.epsilon));
        const V shift = V::load_aligned(bn.shift + c) - V::load_aligned(bn.running_mean + c) * scale;
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t at = r * width + c;
            activate<Act>(multiply_add(V::load_aligned(z + at), scale, shift), activation, r, c).store_aligned(y + at);
        }
    }
}

// Backward: du = dL/du (u = gamma xhat + beta) is given, and shift_gradient already holds its
// column sums (the producer of du accumulated them). Writes scale_gradient = sum(du * xhat) and
// dz_prev = PrevAct'(u_prev) * gamma / std / rows * (rows du - dbeta - xhat dgamma), the
// gradient of the previous stage's pre-activation, accumulating that stage's bias/slope sums.
template <class PrevAct, class T>
inline void batch_norm_backward(std::size_t rows, std::size_t width, const T* du, std::size_t du_stride,
                                const T* normalized, const T* inverse_std, const T* scale, const T* shift_gradient,
                                T* scale_gradient, const activation_gradient_target<T>& previous, T* dz_prev,
                                std::size_t dz_prev_stride) noexcept {
    using V = vector<T>;
    const V count(static_cast<T>(rows));
    for (std::size_t c = 0; c < width; c += V::size) {
        V dgamma(T(0));
        for (std::size_t r = 0; r < rows; ++r)
            dgamma = multiply_add(V::load_aligned(du + r * du_stride + c), V::load_aligned(normalized + r * width + c), dgamma);
        dgamma.store_aligned(scale_gradient + c);
        const V dbeta = V::load_aligned(shift_gradient + c);
        const V factor = V::load_aligned(scale + c) * V::load_aligned(inverse_std + c) / count;

        column_sums<PrevAct, T> sums;
        for (std::size_t r = 0; r < rows; ++r) {
            const V xhat = V::load_aligned(normalized + r * width + c);
            const V g = factor * (count * V::load_aligned(du + r * du_stride + c) - dbeta - xhat * dgamma);
            sums.gradient(g, previous, r, c).store_aligned(dz_prev + r * dz_prev_stride + c);
        }
        sums.add_to(previous, c);
    }
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
