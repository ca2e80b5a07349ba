#pragma once
// The three products of a dense stage, each a gemm with its epilogue. Shapes are in the names:
// In and Out are the logical widths; every buffer's rows are padded to whole 64-byte panels.
#include <cstddef>
#include <type_traits>

#include <hinge/kernels/epilogues.hpp>
#include <hinge/kernels/gemm.hpp>
#include <hinge/kernels/row_product.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// y = Act(x W + b).  x: rows x In (row stride x_stride), W: In x Out in panels, y: rows x pad(Out).
// activation: the stage's learned slopes / training noise; z (rows x pad(Out)), if not null,
// receives the pre-activation for a backward pass that needs it.
template <class Act, std::size_t In, std::size_t Out, class T>
inline void dense_forward(std::size_t rows, const T* x, std::size_t x_stride, const T* w, const T* b, T* y,
                          const activation_inputs<T>& activation = {}, T* z = nullptr, work_share share = {},
                          product_split split = product_split::panels) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t panels = round_up(Out, P) / P;
    bias_activation_epilogue<Act, T> epilogue{b, y, panels * P, activation, z};
    gemm(rows, In, panels, x, x_stride, 1, w, In * P, P, epilogue, static_cast<T*>(nullptr), false, share, split);
}

// y = Act(x W + b) for one row (batch 1: inference, a stream's step), every output vector an
// accumulator in registers (kernels/row_product.hpp), where the general gemm's blocking and
// epilogue calls cost more than the layer's 2 In Out FLOPs. W is stored input-major in blocks of
// row_format<F, T>::row_width outputs: the parameters' panels (float32, in T), or a converted
// weight's rows of 16 (bf16, int8; runtime/batch1_inference.hpp), whose per-output scale (int8;
// null otherwise) multiplies the finished sum. Only the vectors that hold outputs are computed and
// stored (a layer of 1 unit: one vector, not a whole block); y has room for whole blocks.
template <weight_format F, class Act, std::size_t In, std::size_t Out, class T>
inline void dense_row(const T* x, const typename row_format<F, T>::storage* w, const T* b,
                      std::type_identity_t<const T*> scale, T* y,
                      const activation_inputs<T>& activation = {}) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size, R = row_format<F, T>::row_width;
    constexpr std::size_t nv = (Out + W - 1) / W;
    using columns = column_offsets<nv, nv * W, W, R, In>;
    V acc[nv];
    for_each_index<nv>([&](auto v) { acc[v] = V(T(0)); });
    // A short depth is unrolled (a stream's per-step layer), its outputs in as many accumulators as
    // the registers hold; a long one stays a loop over long_row_blocks blocks of outputs at a time.
    if constexpr (In <= 64)
        accumulate_columns<F, columns>(std::integral_constant<std::size_t, In>{}, x, 1, w, R, acc);
    else
        accumulate_columns<F, columns, long_row_blocks * R / W>(In, x, 1, w, R, acc);
    for_each_index<nv>([&](auto v) {
        V z;
        if constexpr (F == weight_format::int8) z = multiply_add(acc[v], V::load_aligned(scale + v * W), V::load_aligned(b + v * W));
        else z = acc[v] + V::load_aligned(b + v * W);
        activate<Act>(z, activation, 0, v * W).store_aligned(y + v * W);
    });
}

// dW = x^T dz.  x: rows x In, dz: rows x pad(Out) (row stride dz_stride), dW: In x Out in panels.
// packing_scratch: (In + max_micro_rows) x min(rows, depth_block) values. A team splits dW's
// rows (the inputs): each member packs only the columns of x it multiplies.
// flatten: the product is compiled for this In and Out (gemm's loops with constant depth and panel
// counts). Left to the inliner, g++ 12 called one generic gemm from every stage once a layer's
// backward became a function of its own: a 12-layer 64-wide MLP's backward went from 55 to 62 us.
template <std::size_t In, std::size_t Out, class T>
[[gnu::flatten]] inline void dense_weight_gradient(std::size_t rows, const T* x, std::size_t x_stride, const T* dz,
                                                   std::size_t dz_stride, T* dw, T* packing_scratch,
                                                   work_share share = {}) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t panels = round_up(Out, P) / P;
    panel_store_epilogue<T> epilogue{dw, In * P};
    gemm(In, rows, panels, x, 1, x_stride, dz, P, dz_stride, epilogue, packing_scratch, false, share,
         product_split::rows);
}

// W^T in panels over the input dimension: wt[q][n][c] = W(output n, input q*P + c), zero for
// inputs past In. This is the B operand of the input-gradient product.
// Only panels [first_panel, last_panel) when given (a team member transposes the panels it multiplies).
template <std::size_t In, std::size_t Out, class T>
inline void transpose_weights(const T* w, T* wt, std::size_t first_panel = 0,
                              std::size_t last_panel = round_up(In, panel_width<T>) / panel_width<T>) noexcept {
    constexpr std::size_t P = panel_width<T>;
    for (std::size_t q = first_panel; q < last_panel; ++q) {
        for (std::size_t n = 0; n < Out; ++n) {
            const T* source = w + n / P * (In * P) + n % P;  // W(n, k) = source[k * P]
            T* target = wt + q * (Out * P) + n * P;
            for (std::size_t c = 0; c < P; ++c) {
                const std::size_t k = q * P + c;
                target[c] = k < In ? source[k * P] : T(0);
            }
        }
    }
}

// dz_prev = (dz W^T) * PrevAct'(u_prev), the column sums of dz_prev going to the previous stage's
// bias (and slope) gradients, as `previous` says. dz: rows x pad(Out); dz_prev: rows x pad(In);
// wt_scratch: pad(In) x Out values. With PrevAct = identity and a target without sums, this is
// the gradient of the network input. A team splits the panels of dz_prev (the previous stage's
// units): each member transposes the panels of W^T it reads, and the column sums of a panel are
// taken by one member in the serial order, so the result is the serial one bit for bit.
template <class PrevAct, std::size_t In, std::size_t Out, class T>
inline void dense_input_gradient(std::size_t rows, const T* dz, std::size_t dz_stride, const T* w, T* wt_scratch,
                                 const activation_gradient_target<T>& previous, T* dz_prev,
                                 std::size_t dz_prev_stride, work_share share = {}) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t in_panels = round_up(In, P) / P;
    const tile_range range = tiles_of<1, T>(share, product_split::panels, rows, in_panels);
    transpose_weights<In, Out>(w, wt_scratch, range.first_panel, range.last_panel);
    derivative_epilogue<PrevAct, T> epilogue{previous, dz_prev, dz_prev_stride};
    gemm(rows, Out, in_panels, dz, dz_stride, 1, wt_scratch, Out * P, P, epilogue, static_cast<T*>(nullptr), false,
         share, product_split::panels);
}

// The same for a previous stage whose derivative comes from its stored output y_prev, with its
// bias gradient accumulated when AccumulateBias.
template <class PrevAct, bool AccumulateBias, std::size_t In, std::size_t Out, class T>
inline void dense_input_gradient(std::size_t rows, const T* dz, std::size_t dz_stride, const T* w, T* wt_scratch,
                                 const T* y_prev, std::size_t y_prev_stride, T* dz_prev, std::size_t dz_prev_stride,
                                 T* bias_gradient_prev) noexcept {
    static_assert(!keeps_pre_activation<PrevAct>,
                  "dense_input_gradient(y_prev...): this form is for activations whose derivative comes from y");
    const activation_gradient_target<T> previous{y_prev, y_prev_stride, nullptr,
                                                 AccumulateBias ? bias_gradient_prev : nullptr, nullptr};
    dense_input_gradient<PrevAct, In, Out>(rows, dz, dz_stride, w, wt_scratch, previous, dz_prev, dz_prev_stride);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
