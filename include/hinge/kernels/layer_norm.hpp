#pragma once
// Layer normalisation (Ba, Kiros and Hinton 2016) over the C channels of every row (a sample of a
// vector, a step of a sequence, a position of an image), as PyTorch's nn.LayerNorm(C):
//
//   mean_r = sum_c x_rc / C,   var_r = sum_c (x_rc - mean_r)^2 / C,   xhat = (x - mean_r) / sqrt(var_r + eps)
//   u = gamma xhat + beta,     y = Act(u)
//
// Rows are Cp values (C padded to whole panels). The padded lanes of an input row need not be
// zero (a stage stores Act(0) there), so every statistic masks them; gamma and beta are zero
// there, so u is 0 in the padding, as after any other stage.
//
// Backward, with du = dL/du given (the activation's derivative already applied):
//   dgamma_c = sum_r du_rc xhat_rc   (dbeta_c = sum_r du_rc: the producer of du accumulated it)
//   g = du gamma,  dx = inv_r (g - mean_c(g) - xhat mean_c(g xhat))
// and dx goes through the previous stage's derivative with its column sums, in the same pass.
#include <cmath>
#include <cstddef>

#include <hinge/kernels/activation.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Lanes [c, c + V::size) that hold one of the C channels.
template <std::size_t C, class T>
inline auto channel_mask(std::size_t c) noexcept {
    using V = vector<T>;
    alignas(storage_alignment) T lanes[vector_width<T>];
    for (std::size_t l = 0; l < vector_width<T>; ++l) lanes[l] = static_cast<T>(c + l);
    return V::load_aligned(lanes) < V(static_cast<T>(C));
}

// normalized (xhat rows) and inverse_std (one value per row) are kept for backward when not null.
template <class Act, std::size_t C, std::size_t Cp, class T>
inline void layer_norm_forward(std::size_t rows, const T* x, const T* gamma, const T* beta, T epsilon,
                               const activation_inputs<T>& activation, T* y, T* pre_activation, T* normalized,
                               T* inverse_std) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size;
    const V zero(T(0));
    for (std::size_t r = 0; r < rows; ++r) {
        const T* row = x + r * Cp;
        V sum(T(0));
        for (std::size_t c = 0; c < Cp; c += W) sum += xsimd::select(channel_mask<C, T>(c), V::load_aligned(row + c), zero);
        const V mean(xsimd::hadd(sum) / static_cast<T>(C));
        V squares(T(0));
        for (std::size_t c = 0; c < Cp; c += W) {
            const V d = xsimd::select(channel_mask<C, T>(c), V::load_aligned(row + c) - mean, zero);
            squares = multiply_add(d, d, squares);
        }
        const T inv = T(1) / std::sqrt(xsimd::hadd(squares) / static_cast<T>(C) + epsilon);
        if (inverse_std) inverse_std[r] = inv;
        for (std::size_t c = 0; c < Cp; c += W) {
            const std::size_t at = r * Cp + c;
            const V xhat = xsimd::select(channel_mask<C, T>(c), (V::load_aligned(row + c) - mean) * V(inv), zero);
            if (normalized) xhat.store_aligned(normalized + at);
            const V u = multiply_add(V::load_aligned(gamma + c), xhat, V::load_aligned(beta + c));
            if constexpr (keeps_pre_activation<Act>) {
                if (pre_activation) u.store_aligned(pre_activation + at);
            }
            activate<Act>(u, activation, r, c).store_aligned(y + at);
        }
    }
}

// row_scratch: 2 values per row.
template <class PrevAct, std::size_t C, std::size_t Cp, class T>
inline void layer_norm_backward(std::size_t rows, const T* du, std::size_t du_stride, const T* normalized,
                                const T* inverse_std, const T* gamma, T* gamma_gradient,
                                const activation_gradient_target<T>& previous, T* dz_prev, std::size_t dz_prev_stride,
                                T* row_scratch) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size;
    // Per row: the means of g = du gamma and of g xhat over the channels (gamma is 0 in the padding).
    for (std::size_t r = 0; r < rows; ++r) {
        V s1(T(0)), s2(T(0));
        for (std::size_t c = 0; c < Cp; c += W) {
            const V g = V::load_aligned(du + r * du_stride + c) * V::load_aligned(gamma + c);
            s1 += g;
            s2 = multiply_add(g, V::load_aligned(normalized + r * Cp + c), s2);
        }
        row_scratch[2 * r] = xsimd::hadd(s1) / static_cast<T>(C);
        row_scratch[2 * r + 1] = xsimd::hadd(s2) / static_cast<T>(C);
    }
    const V zero(T(0));
    for (std::size_t c = 0; c < Cp; c += W) {
        const auto valid = channel_mask<C, T>(c);
        const V g_scale = V::load_aligned(gamma + c);
        V dgamma(T(0));
        column_sums<PrevAct, T> sums;
        for (std::size_t r = 0; r < rows; ++r) {
            const V d = V::load_aligned(du + r * du_stride + c);
            const V xhat = V::load_aligned(normalized + r * Cp + c);
            dgamma = multiply_add(d, xhat, dgamma);
            const V dx = V(inverse_std[r]) * (d * g_scale - V(row_scratch[2 * r]) - xhat * V(row_scratch[2 * r + 1]));
            sums.gradient(xsimd::select(valid, dx, zero), previous, r, c).store_aligned(dz_prev + r * dz_prev_stride + c);
        }
        dgamma.store_aligned(gamma_gradient + c);
        sums.add_to(previous, c);
    }
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
