#pragma once
// One dense stage at batch 1 on the rows layout (runtime/batch1_plan.hpp), in any weight format:
//
//   y[0 .. pad16(Out)) = Act(scale * (x W) + b)     (scale: int8 only, one per output)
//
// W is stored as blocks of 16 outputs; block j holds, for each input k, the 16-weight row of
// outputs 16j .. 16j + 15 (kernels/weight_widening.hpp gives each format's row order). Every
// weight is used once, so the work is a stream over the weights: the input dimension is split
// over four independent accumulator sets (as kernels/gemm.hpp's single_row_panel does) so that
// the FMA latency is hidden, and the widening of bf16 / int8 rows happens in registers between
// the load and the FMA. The scale of int8 rows is applied once to the finished sum. Two blocks of
// 16 outputs share each pass over the inputs where the registers allow (one broadcast of x_k per
// 32 outputs).
#include <cstddef>

#include <hinge/core/batch1_layout.hpp>
#include <hinge/kernels/activation.hpp>
#include <hinge/kernels/simd.hpp>
#include <hinge/kernels/straight_line.hpp>
#include <hinge/kernels/weight_widening.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Blocks consecutive blocks of 16 outputs (first_block ..) in one pass over the inputs: one
// broadcast of x_k serves all of them, and the input dimension is split over Sets accumulator
// sets so that Blocks x Sets x (vectors per row) FMAs are independent.
template <weight_format F, class Act, std::size_t In, std::size_t Blocks, std::size_t Sets>
[[gnu::always_inline]] inline void batch1_rows_pass(const float* x, const weight_storage_t<F>* w, const float* bias,
                                                    const float* scale, float* y, std::size_t first_block) noexcept {
    using V = vector<float>;
    constexpr std::size_t nv = vectors_per_row;
    constexpr std::size_t unrolled = In / Sets * Sets;
    V acc[Sets][Blocks][nv];
    for (std::size_t s = 0; s < Sets; ++s)
        for (std::size_t q = 0; q < Blocks; ++q)
            for (std::size_t v = 0; v < nv; ++v) acc[s][q][v] = V(0.0f);
    const weight_storage_t<F>* block = w + first_block * (In * rows_block);
    auto step = [&](std::size_t k, std::size_t s) {
        const V xk(x[k]);
        for (std::size_t q = 0; q < Blocks; ++q) {
            V row[nv];
            widen_row<F>(block + q * (In * rows_block) + k * rows_block, row);
            for (std::size_t v = 0; v < nv; ++v) acc[s][q][v] = multiply_add(xk, row[v], acc[s][q][v]);
        }
    };
    for (std::size_t k = 0; k < unrolled; k += Sets)
        for (std::size_t s = 0; s < Sets; ++s) step(k + s, s);
    for (std::size_t s = 0; s < In - unrolled; ++s) step(unrolled + s, s);
    for (std::size_t q = 0; q < Blocks; ++q) {
        for (std::size_t v = 0; v < nv; ++v) {
            V sum = acc[0][q][v];
            if constexpr (Sets == 4) sum = (acc[0][q][v] + acc[1][q][v]) + (acc[2][q][v] + acc[3][q][v]);
            else if constexpr (Sets == 3) sum = (acc[0][q][v] + acc[1][q][v]) + acc[2][q][v];
            else if constexpr (Sets == 2) sum = acc[0][q][v] + acc[1][q][v];
            const std::size_t column = (first_block + q) * rows_block + v * V::size;
            V z = V::load_aligned(bias + column);
            if constexpr (F == weight_format::int8) z = multiply_add(sum, V::load_aligned(scale + column), z);
            else z = sum + z;
            activate_in_registers<Act>(z).store_aligned(y + column);
        }
    }
}

// @pre w, bias, scale and y are 64-byte aligned; y holds pad16(Out) values; x holds In values.
template <weight_format F, class Act, std::size_t In, std::size_t Out>
inline void batch1_rows_forward(const float* x, const weight_storage_t<F>* w, const float* bias, const float* scale,
                                float* y) noexcept {
    constexpr std::size_t blocks = (Out + rows_block - 1) / rows_block;
    // Two blocks per pass where their accumulators fit the registers with two sets (AVX2: 8 of
    // 16 registers; AVX-512: 4 of 32); SSE's four vectors per row keep one block and four sets.
    constexpr std::size_t pair = vectors_per_row <= 2 ? 2 : 1;
    constexpr std::size_t pair_sets = In < 2 ? In : 2;
    constexpr std::size_t single_sets = In < 4 ? In : 4;
    std::size_t j = 0;
    if constexpr (pair == 2)
        for (; j + 2 <= blocks; j += 2) batch1_rows_pass<F, Act, In, 2, pair_sets>(x, w, bias, scale, y, j);
    for (; j < blocks; ++j) batch1_rows_pass<F, Act, In, 1, single_sets>(x, w, bias, scale, y, j);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
