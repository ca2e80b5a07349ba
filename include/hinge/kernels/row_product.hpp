#pragma once
// One row times a weight stored in panels, every output vector an accumulator in registers: the
// product of a step of a stream (one sample, one time step), where the general gemm's blocking,
// packing and epilogue calls cost more than the arithmetic. Used by the fused steps of recurrent
// layers (kernels/recurrent.hpp) and causal convolutions (kernels/convolution.hpp).
//
// The outputs are vectors c = 0 .. Total - 1 of W values each; Offsets::at<c> says where output
// vector c's column starts in a panel-stored weight (core/layout.hpp: row k of the weight holds
// column j at (j / P) (fan-in P) + k P + j % P). Only the vectors that hold outputs are computed:
// a layer of 8 units in a 16-float panel costs one AVX2 vector, not two.
#include <cstddef>
#include <utility>

#include <hinge/detail/index_loop.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Where output vector c starts in a weight of fan-in FanIn stored in panels, when the outputs come
// in groups of Vectors vectors, group g starting at column g * Hp (a recurrent layer's gates; a
// plain layer is one group): c = (group, vector) is column c / Vectors * Hp + c % Vectors * W.
template <std::size_t Vectors, std::size_t Hp, std::size_t W, std::size_t P, std::size_t FanIn>
struct column_offsets {
    template <std::size_t C>
    static constexpr std::size_t at = (C / Vectors * Hp + C % Vectors * W) / P * (FanIn * P) +
                                      (C / Vectors * Hp + C % Vectors * W) % P;
};

// out[First + c] += sum over k < Depth of x[k] * w[Offsets::at<First + c> + k P], for c < Count.
// Every column index is a template constant (index_sequence folds, not loops), so the
// accumulators stay in registers on both compilers. With few columns the chain over k is the
// critical path (an FMA's latency is 4-5 cycles), so it is split into up to 4 independent chains.
template <std::size_t First, std::size_t Count, std::size_t Depth, class Offsets, class T, std::size_t Total>
inline void accumulate_block(const T* x, const T* w, vector<T> (&out)[Total]) noexcept {
    using V = vector<T>;
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t split = Count >= 8 || Depth < 2 ? 1 : Count >= 4 || Depth < 4 ? 2 : 4;
    constexpr std::size_t whole = Depth / split * split;
    [&]<std::size_t... C>(std::index_sequence<C...>) {
        V acc[split][Count];
        ((acc[0][C] = out[First + C]), ...);
        for (std::size_t s = 1; s < split; ++s) ((acc[s][C] = V(T(0))), ...);
        for (std::size_t k = 0; k < whole; k += split) {
            for_each_index<split>([&](auto s) {
                const V xk(x[k + s]);
                const T* row = w + (k + s) * P;
                ((acc[s][C] = multiply_add(xk, V::load_aligned(row + Offsets::template at<First + C>), acc[s][C])), ...);
            });
        }
        for (std::size_t k = whole; k < Depth; ++k) {
            const V xk(x[k]);
            const T* row = w + k * P;
            ((acc[0][C] = multiply_add(xk, V::load_aligned(row + Offsets::template at<First + C>), acc[0][C])), ...);
        }
        // A tree, not a chain: the sums are on the critical path of a step.
        if constexpr (split == 4) ((acc[0][C] = (acc[0][C] + acc[1][C]) + (acc[2][C] + acc[3][C])), ...);
        else if constexpr (split == 2) ((acc[0][C] += acc[1][C]), ...);
        ((out[First + C] = acc[0][C]), ...);
    }(std::make_index_sequence<Count>{});
}

// Accumulators per block: with one broadcast and one loaded row they must fit the vector registers
// (16 on SSE2 / AVX2, 32 with AVX-512).
inline constexpr std::size_t accumulator_block = vector_registers >= 32 ? 24 : 12;

// The same for all Total columns, in blocks of at most accumulator_block.
template <std::size_t Depth, class Offsets, class T, std::size_t Total>
inline void accumulate_columns(const T* x, const T* w, vector<T> (&out)[Total]) noexcept {
    constexpr std::size_t block = accumulator_block;
    for_each_index<(Total + block - 1) / block>([&](auto b) {
        constexpr std::size_t first = decltype(b)::value * block;
        accumulate_block<first, (Total - first < block ? Total - first : block), Depth, Offsets>(x, w, out);
    });
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
