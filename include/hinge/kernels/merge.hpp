#pragma once
// The passes of the graph stages (layers/merge.hpp, gated.hpp, film.hpp): forward, one pass over
// the rows they read, the activation after the stage applied in it, as every stage does; backward
// (add, multiply), one pass per operand that sends it its gradient.
//
// Their operands are stored outputs (rows of padded channels) or the network input (rows of its
// channels, unpadded), and a gate's or FiLM's second half starts C channels into a row, so loads
// are unaligned and the last vector of a row is loaded partially: lanes past the channels read
// nothing and compute u = 0, so the padding holds Act(0), as every stage stores there. Stores go
// to the stage's own padded rows, aligned.
#include <cstddef>

#include <hinge/kernels/activation.hpp>
#include <hinge/kernels/elementwise_stages.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Channels [column, column + V) of a row that holds `channels` valid values from `row`: a full
// unaligned load, or the valid ones and zeros.
template <class T>
inline vector<T> load_channels(const T* row, std::size_t column, std::size_t channels) noexcept {
    using V = vector<T>;
    if (column + V::size <= channels) return V::load_unaligned(row + column);
    return load_partial(row + column, column < channels ? channels - column : 0);
}

// u with the lanes past `channels` set to 0 (for a combination whose value at 0 is not 0).
template <class T>
inline vector<T> zero_past(vector<T> u, std::size_t column, std::size_t channels) noexcept {
    using V = vector<T>;
    if (column + V::size <= channels) return u;
    alignas(storage_alignment) T lanes[vector_width<T>];
    u.store_aligned(lanes);
    for (std::size_t l = column < channels ? channels - column : 0; l < V::size; ++l) lanes[l] = T(0);
    return V::load_aligned(lanes);
}

// y = Act(combine(a, b)) for rows of C channels; combine(0, 0) must be 0 (a sum, a product).
template <class Act, std::size_t C, std::size_t Cp, class T, class Combine>
inline void combine_forward(std::size_t rows, const T* a, std::size_t a_stride, const T* b, std::size_t b_stride, T* y,
                            const activation_inputs<T>& activation, T* z, Combine combine) noexcept {
    using V = vector<T>;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < Cp; c += V::size) {
            const V u = combine(load_channels(a + r * a_stride, c, C), load_channels(b + r * b_stride, c, C));
            if constexpr (keeps_pre_activation<Act>) {
                if (z) u.store_aligned(z + r * Cp + c);
            }
            activate<Act>(u, activation, r, c).store_aligned(y + r * Cp + c);
        }
    }
}

// y = Act(A(x[:C]) * B(x[C:])) for rows of 2C channels (stride x_stride).
template <class A, class B, class Act, std::size_t C, std::size_t Cp, class T>
inline void gated_forward(std::size_t rows, const T* x, std::size_t x_stride, T* y,
                          const activation_inputs<T>& activation, T* z) noexcept {
    using V = vector<T>;
    for (std::size_t r = 0; r < rows; ++r) {
        const T* row = x + r * x_stride;
        for (std::size_t c = 0; c < Cp; c += V::size) {
            const V u = zero_past(A::forward(load_channels(row, c, C)) * B::forward(load_channels(row + C, c, C)), c, C);
            if constexpr (keeps_pre_activation<Act>) {
                if (z) u.store_aligned(z + r * Cp + c);
            }
            activate<Act>(u, activation, r, c).store_aligned(y + r * Cp + c);
        }
    }
}

// y = Act(gamma * x + beta), [gamma, beta] = the 2C channels of row r / PerRow of c.
template <class Act, std::size_t C, std::size_t Cp, std::size_t PerRow, class T>
inline void film_forward(std::size_t rows, const T* x, std::size_t x_stride, const T* c_rows, std::size_t c_stride, T* y,
                         const activation_inputs<T>& activation, T* z) noexcept {
    using V = vector<T>;
    for (std::size_t r = 0; r < rows; ++r) {
        const T* gamma_beta = c_rows + r / PerRow * c_stride;
        for (std::size_t c = 0; c < Cp; c += V::size) {
            const V u = xsimd::fma(load_channels(gamma_beta, c, C), load_channels(x + r * x_stride, c, C),
                                   load_channels(gamma_beta + C, c, C));
            if constexpr (keeps_pre_activation<Act>) {
                if (z) u.store_aligned(z + r * Cp + c);
            }
            activate<Act>(u, activation, r, c).store_aligned(y + r * Cp + c);
        }
    }
}

// ---- backward -------------------------------------------------------------------------------

// dL/dx of a gate for rows of 2C channels, into rows of `out_stride` (at least C + Cp, whole
// panels): dL/da = dz B(b) A'(a) at [0, C), dL/db = dz A(a) B'(b) at [C, 2C), zeros after. A' and
// B' from the output or the input, as each activation's derivative asks.
template <class A, class B, std::size_t C, std::size_t Cp, class T>
inline void gated_backward(std::size_t rows, const T* x, std::size_t x_stride, const T* dz, std::size_t dz_stride,
                           T* out, std::size_t out_stride) noexcept {
    using V = vector<T>;
    alignas(storage_alignment) T second[Cp];
    for (std::size_t r = 0; r < rows; ++r) {
        const T* row = x + r * x_stride;
        T* g_row = out + r * out_stride;
        for (std::size_t c = 0; c < Cp; c += V::size) {
            const V a = load_channels(row, c, C), b = load_channels(row + C, c, C);
            const V g = zero_past(V::load_aligned(dz + r * dz_stride + c), c, C);
            const V ya = A::forward(a), yb = B::forward(b);
            const V da = A::derivative_from_output ? A::derivative(ya) : A::derivative(a);
            const V db = B::derivative_from_output ? B::derivative(yb) : B::derivative(b);
            (g * yb * da).store_aligned(g_row + c);
            (g * ya * db).store_aligned(second + c);
        }
        // The second half after the first (its stores overlap the first half's zero tail).
        for (std::size_t c = 0; c < Cp; c += V::size) V::load_aligned(second + c).store_unaligned(g_row + C + c);
        for (std::size_t k = C + Cp; k < out_stride; ++k) g_row[k] = T(0);
    }
}

// ---- backward: a gradient g(r, c) of C channels to where one operand's gradient goes ----------

// To the stage that produced the operand, as its pre-activation gradient: its activation's
// derivative applied (and the gradient its other readers left added), its column sums taken.
// Rows of stride `stride` (the producer's gradient rows, padded: aligned stores).
template <class PrevAct, std::size_t C, std::size_t Cp, class T, class Gradient>
inline void gradient_to_producer(std::size_t rows, Gradient g_of, const activation_gradient_target<T>& producer, T* out,
                                 std::size_t stride) noexcept {
    using V = vector<T>;
    for (std::size_t c = 0; c < Cp; c += V::size) {
        column_sums<PrevAct, T> sums;
        for (std::size_t r = 0; r < rows; ++r)
            sums.gradient(zero_past(g_of(r, c), c, C), producer, r, c).store_aligned(out + r * stride + c);
        sums.add_to(producer, c);
    }
}

// To the skip gradient of a value with several readers: written by the first reader backward
// reaches, added by the others (Accumulate).
template <bool Accumulate, std::size_t C, std::size_t Cp, class T, class Gradient>
inline void gradient_to_skip(std::size_t rows, Gradient g_of, T* out, std::size_t stride) noexcept {
    using V = vector<T>;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < Cp; c += V::size) {
            T* at = out + r * stride + c;
            const V g = zero_past(g_of(r, c), c, C);
            if constexpr (Accumulate) (V::load_aligned(at) + g).store_aligned(at);
            else g.store_aligned(at);
        }
    }
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
