#pragma once
// Register-blocked matrix products with fused epilogues: the only arithmetic of dense layers.
//
//   C (rows x panels*P) = A (rows x depth) * B (depth x panels*P), then epilogue(C tile)
//
// A is read through strides, A(i, p) = a[i * a_row_step + p * a_depth_step], so that the same
// kernel serves X * W (forward), X^T * dZ (weight gradient) and dZ * W^T (input gradient).
// B is read a panel at a time: panel j starts at b + j * b_panel_step and its row p is the P
// contiguous, 64-byte aligned values at + p * b_row_step. The epilogue receives the finished
// tile in registers and decides what to store: bias + activation (forward), the derivative of
// the previous stage's activation (input gradient), or plain values (weight gradient).
#include <algorithm>
#include <cstddef>

#include <hinge/kernels/simd.hpp>

namespace hinge::kernels {

// One tile: Rows rows of A times one panel of B, accumulated over `depth` in registers.
// @pre a_rows[i] is valid for every i < Rows (the caller repeats the last valid row for tails);
//      b is 64-byte aligned and so is every row of it.
template <std::size_t Rows, class T, class Epilogue>
inline void micro_tile(std::size_t depth, const T* const (&a_rows)[Rows], std::size_t a_depth_step,
                       const T* b, std::size_t b_row_step, Epilogue& epilogue, std::size_t first_row,
                       std::size_t valid_rows, std::size_t first_column) noexcept {
    using V = vector<T>;
    constexpr std::size_t nv = vectors_per_panel<T>;
    V acc[Rows][nv];
    for (std::size_t i = 0; i < Rows; ++i)
        for (std::size_t v = 0; v < nv; ++v) acc[i][v] = V(T(0));

    std::size_t a_offset = 0;
    for (std::size_t p = 0; p < depth; ++p) {
        V panel_row[nv];
        for (std::size_t v = 0; v < nv; ++v) panel_row[v] = V::load_aligned(b + v * V::size);
        for (std::size_t i = 0; i < Rows; ++i) {
            const V a(a_rows[i][a_offset]);
            for (std::size_t v = 0; v < nv; ++v) acc[i][v] = xsimd::fma(a, panel_row[v], acc[i][v]);
        }
        a_offset += a_depth_step;
        b += b_row_step;
    }
    epilogue(first_row, valid_rows, first_column, acc);
}

// A single row: the depth is split over four independent accumulator sets so that the FMA
// latency is hidden (a single chain would wait ~4 cycles per step). This is the batch-1 path.
template <class T, class Epilogue>
inline void single_row_panel(std::size_t depth, const T* a, std::size_t a_depth_step, const T* b,
                             std::size_t b_row_step, Epilogue& epilogue, std::size_t first_column) noexcept {
    using V = vector<T>;
    constexpr std::size_t nv = vectors_per_panel<T>;
    constexpr std::size_t split = 4;
    V acc[split][nv];
    for (std::size_t s = 0; s < split; ++s)
        for (std::size_t v = 0; v < nv; ++v) acc[s][v] = V(T(0));

    const std::size_t unrolled_depth = depth / split * split;
    for (std::size_t p = 0; p < unrolled_depth; p += split) {
        for (std::size_t s = 0; s < split; ++s) {
            const V x(a[(p + s) * a_depth_step]);
            const T* row = b + (p + s) * b_row_step;
            for (std::size_t v = 0; v < nv; ++v)
                acc[s][v] = xsimd::fma(x, V::load_aligned(row + v * V::size), acc[s][v]);
        }
    }
    for (std::size_t s = 0; s < depth - unrolled_depth; ++s) {
        const V x(a[(unrolled_depth + s) * a_depth_step]);
        const T* row = b + (unrolled_depth + s) * b_row_step;
        for (std::size_t v = 0; v < nv; ++v) acc[s][v] = xsimd::fma(x, V::load_aligned(row + v * V::size), acc[s][v]);
    }
    V sum[1][nv];
    for (std::size_t v = 0; v < nv; ++v) sum[0][v] = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]);
    epilogue(std::size_t{0}, std::size_t{1}, first_column, sum);
}

// The driver: every (row block, panel) tile once. Panels form the outer loop so that one panel
// of B (the weights, in the forward pass) stays in cache while all row blocks stream past it.
template <class T, class Epilogue>
inline void gemm(std::size_t rows, std::size_t depth, std::size_t panels, const T* a, std::size_t a_row_step,
                 std::size_t a_depth_step, const T* b, std::size_t b_panel_step, std::size_t b_row_step,
                 Epilogue& epilogue) noexcept {
    constexpr std::size_t P = panel_width<T>;
    if (rows == 1) {
        for (std::size_t j = 0; j < panels; ++j)
            single_row_panel(depth, a, a_depth_step, b + j * b_panel_step, b_row_step, epilogue, j * P);
        return;
    }
    constexpr std::size_t mr = micro_rows<T>;
    for (std::size_t j = 0; j < panels; ++j) {
        const T* panel = b + j * b_panel_step;
        for (std::size_t i0 = 0; i0 < rows; i0 += mr) {
            const std::size_t valid = std::min(mr, rows - i0);
            const T* a_rows[mr];
            // Tail rows repeat the last valid row: the tile stays full width in registers and
            // the epilogue stores only the valid rows.
            for (std::size_t i = 0; i < mr; ++i) a_rows[i] = a + (i0 + std::min(i, valid - 1)) * a_row_step;
            micro_tile<mr>(depth, a_rows, a_depth_step, panel, b_row_step, epilogue, i0, valid, j * P);
        }
    }
}

}  // namespace hinge::kernels
