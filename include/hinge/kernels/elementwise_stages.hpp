#pragma once
// Stages that move values without a product: flatten, dropout and the addition that closes a
// residual block. Each is one pass over its rows; the activation after the stage is applied in
// that pass (forward) and the previous stage's derivative in the pass that produces its gradient
// (backward), like everywhere else.
//
// Rows are samples x positions of Cp values (Cp = padded channels), as stored by every stage.
#include <cstddef>
#include <cstring>

#include <hinge/core/work_share.hpp>

#include <hinge/kernels/activation.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Loads `valid` (< V::size) values and zeros, for the ends of rows that are not padded.
template <class T>
inline vector<T> load_partial(const T* source, std::size_t valid) noexcept {
    alignas(storage_alignment) T lanes[vector_width<T>] = {};
    for (std::size_t l = 0; l < valid; ++l) lanes[l] = source[l];
    return vector<T>::load_aligned(lanes);
}
template <class T>
inline void store_partial(vector<T> value, T* target, std::size_t valid) noexcept {
    alignas(storage_alignment) T lanes[vector_width<T>];
    value.store_aligned(lanes);
    for (std::size_t l = 0; l < valid; ++l) target[l] = lanes[l];
}

// ---- flatten -----------------------------------------------------------------------------

// y[n][p * C + c] = x[n][p][c]: the channel padding dropped, the row padded once at its end.
template <std::size_t Positions, std::size_t C, std::size_t Cp, std::size_t OutStride, class T>
inline void flatten_forward(std::size_t samples, const T* x, T* y, work_share share = {}) noexcept {
    for (std::size_t n = share.begin(samples); n < share.end(samples); ++n) {
        T* out = y + n * OutStride;
        const T* in = x + n * Positions * Cp;
        for (std::size_t p = 0; p < Positions; ++p) std::memcpy(out + p * C, in + p * Cp, C * sizeof(T));
        for (std::size_t k = Positions * C; k < OutStride; ++k) out[k] = T(0);
    }
}

// dz_prev[n][p][c] = PrevAct'(u) * dz[n][p * C + c], with the previous stage's column sums.
template <class PrevAct, std::size_t Positions, std::size_t C, std::size_t Cp, class T>
inline void flatten_backward(std::size_t samples, const T* dz, std::size_t dz_stride,
                             const activation_gradient_target<T>& previous, T* dz_prev,
                             std::size_t dz_prev_stride, work_share share = {}) noexcept {
    using V = vector<T>;
    constexpr std::size_t nv = Cp / V::size;
    column_sums<PrevAct, T> sums[nv];
    for (std::size_t n = share.begin(samples); n < share.end(samples); ++n) {
        for (std::size_t p = 0; p < Positions; ++p) {
            const T* g_row = dz + n * dz_stride + p * C;
            const std::size_t row = n * Positions + p;
            for (std::size_t v = 0; v < nv; ++v) {
                const std::size_t c = v * V::size;
                const V g = c + V::size <= C ? V::load_unaligned(g_row + c)
                                             : load_partial(g_row + c, c < C ? C - c : 0);
                sums[v].gradient(g, previous, row, c).store_aligned(dz_prev + row * dz_prev_stride + c);
            }
        }
    }
    for (std::size_t v = 0; v < nv; ++v) sums[v].add_to(previous, v * V::size);
}

// ---- dropout -----------------------------------------------------------------------------

// The mask times 1 / (1 - rate) for one vector: 0 where the unit is dropped.
template <class T>
inline vector<T> dropout_factor(const noise_source& noise, double rate, std::size_t row, std::size_t column) noexcept {
    alignas(storage_alignment) T lanes[vector_width<T>];
    const T keep_scale = static_cast<T>(1.0 / (1.0 - rate));
    for (std::size_t l = 0; l < vector_width<T>; ++l)
        lanes[l] = noise.uniform(row, column + l) < rate ? T(0) : keep_scale;
    return vector<T>::load_aligned(lanes);
}

// Training: y = Act(x * mask / (1 - rate)); inference: y = Act(x).
template <class Act, std::size_t Cp, class T>
inline void dropout_forward(std::size_t rows, const T* x, T* y, double rate, bool training,
                            const activation_inputs<T>& activation, T* z) noexcept {
    using V = vector<T>;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < Cp; c += V::size) {
            V value = V::load_aligned(x + r * Cp + c);
            if (training) value *= dropout_factor<T>(activation.noise, rate, r, c);
            if constexpr (keeps_pre_activation<Act>) {
                if (z) value.store_aligned(z + r * Cp + c);
            }
            activate<Act>(value, activation, r, c).store_aligned(y + r * Cp + c);
        }
    }
}

// dz_prev = PrevAct'(u) * dz * mask / (1 - rate), the mask recomputed from the same noise.
template <class PrevAct, std::size_t Cp, class T>
inline void dropout_backward(std::size_t rows, const T* dz, std::size_t dz_stride, const noise_source& noise,
                             double rate, const activation_gradient_target<T>& previous, T* dz_prev,
                             std::size_t dz_prev_stride) noexcept {
    using V = vector<T>;
    for (std::size_t c = 0; c < Cp; c += V::size) {
        column_sums<PrevAct, T> sums;
        for (std::size_t r = 0; r < rows; ++r) {
            const V g = V::load_aligned(dz + r * dz_stride + c) * dropout_factor<T>(noise, rate, r, c);
            sums.gradient(g, previous, r, c).store_aligned(dz_prev + r * dz_prev_stride + c);
        }
        sums.add_to(previous, c);
    }
}

// ---- residual addition --------------------------------------------------------------------

// y = Act(main + shortcut). main: rows x Cp; shortcut: rows x shortcut_stride with C valid
// channels per row (the stored output of the block's source, or the network input, unpadded).
template <class Act, std::size_t C, std::size_t Cp, class T>
inline void residual_add_forward(std::size_t rows, const T* main, const T* shortcut, std::size_t shortcut_stride,
                                 T* y, const activation_inputs<T>& activation, T* z) noexcept {
    using V = vector<T>;
    const bool aligned_shortcut = shortcut_stride == Cp;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < Cp; c += V::size) {
            const T* s = shortcut + r * shortcut_stride + c;
            const V skip = aligned_shortcut ? V::load_aligned(s) : load_partial(s, c < C ? (C - c < V::size ? C - c : V::size) : 0);
            const V sum = V::load_aligned(main + r * Cp + c) + skip;
            if constexpr (keeps_pre_activation<Act>) {
                if (z) sum.store_aligned(z + r * Cp + c);
            }
            activate<Act>(sum, activation, r, c).store_aligned(y + r * Cp + c);
        }
    }
}

// The gradient of the addition goes to both operands: PrevAct'(u) * dz to the block's last
// stage (with its column sums), and dz, as is, to the shortcut buffer of the block's source
// (stored, or added when another block with the same source wrote first); the stage that
// produces the source's gradient adds it before the source's own derivative.
template <class PrevAct, std::size_t C, std::size_t Cp, class T>
inline void residual_add_backward(std::size_t rows, const T* dz, std::size_t dz_stride,
                                  const activation_gradient_target<T>& previous, T* dz_prev,
                                  std::size_t dz_prev_stride, T* shortcut_gradient, std::size_t shortcut_stride,
                                  bool accumulate) noexcept {
    using V = vector<T>;
    const bool aligned_shortcut = shortcut_stride == Cp;
    for (std::size_t c = 0; c < Cp; c += V::size) {
        column_sums<PrevAct, T> sums;
        const std::size_t valid = c < C ? (C - c < V::size ? C - c : V::size) : 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const V g = V::load_aligned(dz + r * dz_stride + c);
            sums.gradient(g, previous, r, c).store_aligned(dz_prev + r * dz_prev_stride + c);
            T* s = shortcut_gradient + r * shortcut_stride + c;
            if (aligned_shortcut) {
                (accumulate ? V::load_aligned(s) + g : g).store_aligned(s);
            } else if (valid > 0) {
                store_partial(accumulate ? load_partial(s, valid) + g : g, s, valid);
            }
        }
        sums.add_to(previous, c);
    }
}

// residual_with: y = Act(block + projection). The gradient goes to both with their derivatives
// and column sums: to the projection (the previous stage) and to the block's last stage, whose
// gradient rows may be dz's own (updated in place: every value is read before it is written).
template <class ProjectionAct, class BlockAct, std::size_t Cp, class T>
inline void residual_add_backward_projected(std::size_t rows, const T* dz, std::size_t dz_stride,
                                            const activation_gradient_target<T>& projection, T* dz_projection,
                                            std::size_t dz_projection_stride,
                                            const activation_gradient_target<T>& block, T* dz_block,
                                            std::size_t dz_block_stride) noexcept {
    using V = vector<T>;
    for (std::size_t c = 0; c < Cp; c += V::size) {
        column_sums<ProjectionAct, T> projection_sums;
        column_sums<BlockAct, T> block_sums;
        for (std::size_t r = 0; r < rows; ++r) {
            const V g = V::load_aligned(dz + r * dz_stride + c);
            // Both derivatives are taken before either store: dz_block may be dz's own rows.
            const V to_projection = projection_sums.gradient(g, projection, r, c);
            const V to_block = block_sums.gradient(g, block, r, c);
            to_projection.store_aligned(dz_projection + r * dz_projection_stride + c);
            to_block.store_aligned(dz_block + r * dz_block_stride + c);
        }
        projection_sums.add_to(projection, c);
        block_sums.add_to(block, c);
    }
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
