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
// the load and the FMA. The scale of int8 rows is applied once to the finished sum.
#include <cstddef>

#include <hinge/core/batch1_layout.hpp>
#include <hinge/kernels/activation.hpp>
#include <hinge/kernels/simd.hpp>
#include <hinge/kernels/straight_line.hpp>
#include <hinge/kernels/weight_widening.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// @pre w, bias, scale and y are 64-byte aligned; y holds pad16(Out) values; x holds In values.
template <weight_format F, class Act, std::size_t In, std::size_t Out>
inline void batch1_rows_forward(const float* x, const weight_storage_t<F>* w, const float* bias, const float* scale,
                                float* y) noexcept {
    using V = vector<float>;
    constexpr std::size_t nv = vectors_per_row;
    constexpr std::size_t blocks = (Out + rows_block - 1) / rows_block;
    constexpr std::size_t split = In < 4 ? In : 4;
    constexpr std::size_t unrolled = In / split * split;
    for (std::size_t j = 0; j < blocks; ++j) {
        const weight_storage_t<F>* block = w + j * (In * rows_block);
        V acc[split][nv];
        for (std::size_t s = 0; s < split; ++s)
            for (std::size_t v = 0; v < nv; ++v) acc[s][v] = V(0.0f);
        for (std::size_t k = 0; k < unrolled; k += split) {
            for (std::size_t s = 0; s < split; ++s) {
                const V xk(x[k + s]);
                V row[nv];
                widen_row<F>(block + (k + s) * rows_block, row);
                for (std::size_t v = 0; v < nv; ++v) acc[s][v] = multiply_add(xk, row[v], acc[s][v]);
            }
        }
        for (std::size_t s = 0; s < In - unrolled; ++s) {
            const V xk(x[unrolled + s]);
            V row[nv];
            widen_row<F>(block + (unrolled + s) * rows_block, row);
            for (std::size_t v = 0; v < nv; ++v) acc[s][v] = multiply_add(xk, row[v], acc[s][v]);
        }
        for (std::size_t v = 0; v < nv; ++v) {
            V sum = acc[0][v];
            if constexpr (split == 4) sum = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]);
            else if constexpr (split == 3) sum = (acc[0][v] + acc[1][v]) + acc[2][v];
            else if constexpr (split == 2) sum = acc[0][v] + acc[1][v];
            const std::size_t column = j * rows_block + v * V::size;
            V z = V::load_aligned(bias + column);
            if constexpr (F == weight_format::int8) z = multiply_add(sum, V::load_aligned(scale + column), z);
            else z = sum + z;
            activate_in_registers<Act>(z).store_aligned(y + column);
        }
    }
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
