#pragma once
// The row product: one row x times a weight matrix stored in blocks of outputs, the output vectors
// accumulated in registers. Every product of a single row in hinge is this kernel:
//
//   gemm with one row          (kernels/gemm.hpp: a batch of 1, the last row of a batch)
//   dense at batch 1           (kernels/dense.hpp dense_row: inference<Net>, streams)
//   converted weights          (runtime/batch1_inference.hpp: bf16, int8, float rows)
//   the one-step kernels       (kernels/recurrent.hpp, kernels/convolution.hpp: a stream's step)
//
// A weight is stored input-major in blocks: for output block j, input k's row of the block is
// contiguous (core/layout.hpp's panels: 16 floats or 8 doubles; a converted weight's rows of 16
// outputs). The weight format is a policy (row_format): float and double rows are loaded, bf16
// and int8 rows are widened to float in registers (kernels/weight_widening.hpp).
//
// Columns says which output vectors to compute and where each lives (which block, which vector of
// the block's row), as compile-time constants, so the accumulators stay in registers on both
// compilers; only vectors that hold outputs are computed (a layer of 8 units in a 16-float panel
// costs one AVX2 vector, not two). With few columns the chain over k is the critical path (an FMA's
// latency is 4-5 cycles), so the depth is split over up to 4 independent accumulator sets.
#include <cstddef>
#include <type_traits>
#include <utility>

#include <hinge/core/batch1_layout.hpp>
#include <hinge/detail/index_loop.hpp>
#include <hinge/kernels/simd.hpp>
#include <hinge/kernels/weight_widening.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// How vector V of one stored row of a block becomes T lanes.
template <weight_format F, class T>
struct row_format {
    static_assert(F == weight_format::float32 || std::is_same_v<T, float>,
                  "row_format: reduced-precision weights are widened to float");
    using storage = std::conditional_t<F == weight_format::float32, T, weight_storage_t<F>>;
    // Outputs per stored row of a block.
    static constexpr std::size_t row_width = F == weight_format::float32 ? panel_width<T> : rows_block;

    template <std::size_t V>
    [[gnu::always_inline]] static vector<T> load(const storage* row) noexcept {
        if constexpr (F == weight_format::float32) return vector<T>::load_aligned(row + V * vector_width<T>);
        else return widen_vector<F, V>(row);
    }
};

// Output vector c of a weight of fan-in FanIn stored in panels of P, when the outputs come in
// groups of Vectors vectors of W lanes, group g starting at column g * Hp (a recurrent layer's
// gates; a plain layer is one group): c = (group, vector) is column c / Vectors * Hp + c % Vectors * W.
template <std::size_t Vectors, std::size_t Hp, std::size_t W, std::size_t P, std::size_t FanIn>
struct column_offsets {
    template <std::size_t C>
    static constexpr std::size_t column = C / Vectors * Hp + C % Vectors * W;
    template <std::size_t C>
    static constexpr std::size_t block = column<C> / P * (FanIn * P);  // storage offset of the block's row 0
    template <std::size_t C>
    static constexpr std::size_t vector = column<C> % P / W;  // which vector of the block's row
    // Where vector c starts in row 0 (a bias or a state vector: fan-in 1).
    template <std::size_t C>
    static constexpr std::size_t at = block<C> + column<C> % P;
};

// The vectors of one block, in order (gemm's panel, a converted weight's row of 16).
template <std::size_t Vectors>
struct block_vectors {
    template <std::size_t C>
    static constexpr std::size_t block = 0;
    template <std::size_t C>
    static constexpr std::size_t vector = C;
};

// Accumulator sets for Count output vectors: as many chains as hide the FMA latency, no more.
template <std::size_t Count>
inline constexpr std::size_t accumulator_sets = Count >= 8 ? 1 : Count >= 4 ? 2 : 4;

// out[First + c] += sum over k < depth of x[k x_step] * W(k, column c), for c < Count. `depth` is a
// std::size_t, or a std::integral_constant when it is known at compile time (a stream's step:
// the loop is then unrolled). Row k of a block is at row_step k from its row 0.
template <weight_format F, class Columns, std::size_t First, std::size_t Count,
          std::size_t Sets = accumulator_sets<Count>, class Depth, class T, std::size_t Total>
[[gnu::always_inline]] inline void accumulate_row(Depth depth_value, const T* x, std::size_t x_step,
                                                  const typename row_format<F, T>::storage* w, std::size_t row_step,
                                                  vector<T> (&out)[Total]) noexcept {
    using V = vector<T>;
    using R = row_format<F, T>;
    constexpr std::size_t sets = Sets;
    const std::size_t depth = static_cast<std::size_t>(depth_value);
    const std::size_t whole = depth / sets * sets;
    [&]<std::size_t... C>(std::index_sequence<C...>) {
        V acc[sets][Count];
        ((acc[0][C] = out[First + C]), ...);
        for (std::size_t s = 1; s < sets; ++s) ((acc[s][C] = V(T(0))), ...);
        const auto step = [&](std::size_t k, std::size_t s) {
            const V xk(x[k * x_step]);
            const typename R::storage* row = w + k * row_step;
            ((acc[s][C] = multiply_add(xk, R::template load<Columns::template vector<First + C>>(
                                                row + Columns::template block<First + C>),
                                       acc[s][C])),
             ...);
        };
        for (std::size_t k = 0; k < whole; k += sets)
            for (std::size_t s = 0; s < sets; ++s) step(k + s, s);
        for (std::size_t s = 0; s < depth - whole; ++s) step(whole + s, s);
        // A tree, not a chain: the sums are on the critical path of a short product. Sets that no
        // step reached are skipped: adding their zeros would put up to two dependent adds on the
        // critical path of a short layer (the first layer of a 1-input network).
        if constexpr (sets == 4) {
            if (depth > 1) ((acc[0][C] += acc[1][C]), ...);
            if (depth > 3) ((acc[2][C] += acc[3][C]), ...);
            if (depth > 2) ((acc[0][C] += acc[2][C]), ...);
        } else if constexpr (sets == 2) {
            if (depth > 1) ((acc[0][C] += acc[1][C]), ...);
        }
        ((out[First + C] = acc[0][C]), ...);
    }(std::make_index_sequence<Count>{});
}

// Accumulators per pass over the row: with one broadcast and one loaded row they must fit the
// vector registers (16 on SSE2 / AVX2, 32 with AVX-512).
inline constexpr std::size_t accumulator_block = vector_registers >= 32 ? 24 : 12;

// Blocks of outputs per pass over a long row (one that streams its weights from L2 or beyond):
// two weight streams per pass measured faster than one pass over as many blocks as the registers
// hold (784-256-128-10 at batch 1: 7.0 against 8.3 us), and with AVX-512 four faster than two
// (g++ 12, Sapphire Rapids guest: 5.8 against 7.3 us).
inline constexpr std::size_t long_row_blocks = vector_registers >= 32 ? 4 : 2;

// The same for all Total columns, in passes of at most Block vectors (accumulator_block: as many as
// the registers hold, for short rows; long_row_blocks blocks for a long row).
template <weight_format F, class Columns, std::size_t Block = accumulator_block, class Depth, class T,
          std::size_t Total>
[[gnu::always_inline]] inline void accumulate_columns(Depth depth, const T* x, std::size_t x_step,
                                                      const typename row_format<F, T>::storage* w,
                                                      std::size_t row_step, vector<T> (&out)[Total]) noexcept {
    constexpr std::size_t block = Block;
    for_each_index<(Total + block - 1) / block>([&](auto b) {
        constexpr std::size_t first = decltype(b)::value * block;
        accumulate_row<F, Columns, first, (Total - first < block ? Total - first : block)>(depth, x, x_step, w, row_step,
                                                                                          out);
    });
}

// The float-storage form the one-step kernels use: Depth inputs, a weight in panels.
template <std::size_t Depth, class Offsets, class T, std::size_t Total>
[[gnu::always_inline]] inline void accumulate_columns(const T* x, const T* w, vector<T> (&out)[Total]) noexcept {
    accumulate_columns<weight_format::float32, Offsets>(std::integral_constant<std::size_t, Depth>{}, x, 1, w,
                                                       panel_width<T>, out);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
