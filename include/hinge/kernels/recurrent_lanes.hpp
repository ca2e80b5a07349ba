#pragma once
// One step of many streams at once, a stream per SIMD lane: the kernels of streams<Net, S> for a
// recurrent cell with a dense head, when S fills whole vectors.
//
// A single stream's step (kernels/recurrent.hpp recurrent_step, kernels/dense.hpp dense_row)
// puts adjacent units in the lanes, and a small layer leaves lanes empty (H = 8 in a 16-float
// vector; a head of 1 output uses 1 lane of 16) and its gate functions run on half-empty vectors.
// Here lane l holds stream l, and vector j of the state is unit j of every stream, so every lane
// is busy whatever H. Each lane repeats its stream's arithmetic operation for operation: each
// output is the row product's sum in the row product's order (its bias first, then the inputs
// split over the same accumulator sets, combined by the same tree; replay_row_sums), and the cell
// and gate functions are the same functions on the same vector type. So a lane's result equals
// the single stream's bit for bit (tests/runtime/streams.cpp), which a different summation order
// (a dot product per unit, say) would not.
//
// Layout (T arrays, vector_width<T> lanes per row): x In rows, h and c Hp rows (unit j of every
// stream at row j), y Out rows.
#include <cstddef>
#include <type_traits>

#include <hinge/detail/index_loop.hpp>
#include <hinge/kernels/recurrent.hpp>
#include <hinge/kernels/row_product.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Streams per vector: a lane kernel runs this many streams at once.
template <class T>
inline constexpr std::size_t lane_count = vector<T>::size;

// The accumulator sets of output vector C when accumulate_columns computes Total vectors in
// passes of Block (accumulate_row's Count for C's pass).
template <std::size_t Total, std::size_t Block, std::size_t C>
inline constexpr std::size_t replay_sets =
    accumulator_sets<(Total - C / Block * Block < Block ? Total - C / Block * Block : Block)>;

// accumulate_row's sums for Count outputs, each lane another stream: out[c] (the bias, or 0),
// then input k of every lane (x[k]) times output c's weight for input k (weight(c, k)), k split
// over Sets accumulators in turn, combined by the same tree. The Count outputs only share the
// loop: each one's operations are those of its own sum, in its own order, and their chains run
// side by side to hide the FMA latency (with Sets = 1, one output alone is one chain of Depth
// dependent FMAs).
template <std::size_t Depth, std::size_t Sets, std::size_t Count, class T, class Weight>
[[gnu::always_inline]] inline void replay_row_sums(vector<T> (&out)[Count], const vector<T>* x,
                                                   Weight weight) noexcept {
    using V = vector<T>;
    V acc[Sets][Count];
    for (std::size_t c = 0; c < Count; ++c) {
        acc[0][c] = out[c];
        for (std::size_t s = 1; s < Sets; ++s) acc[s][c] = V(T(0));
    }
    constexpr std::size_t whole = Depth / Sets * Sets;
    for (std::size_t k = 0; k < whole; k += Sets)
        for (std::size_t s = 0; s < Sets; ++s)
            for (std::size_t c = 0; c < Count; ++c) acc[s][c] = multiply_add(x[k + s], V(weight(c, k + s)), acc[s][c]);
    for (std::size_t s = 0; s < Depth - whole; ++s)
        for (std::size_t c = 0; c < Count; ++c)
            acc[s][c] = multiply_add(x[whole + s], V(weight(c, whole + s)), acc[s][c]);
    for (std::size_t c = 0; c < Count; ++c) {
        if constexpr (Sets == 4) {
            if constexpr (Depth > 1) acc[0][c] += acc[1][c];
            if constexpr (Depth > 3) acc[2][c] += acc[3][c];
            if constexpr (Depth > 2) acc[0][c] += acc[2][c];
        } else if constexpr (Sets == 2) {
            if constexpr (Depth > 1) acc[0][c] += acc[1][c];
        }
        out[c] = acc[0][c];
    }
}

// Outputs whose sums replay_row_sums runs side by side: about 8 independent chains.
template <std::size_t Sets>
inline constexpr std::size_t replay_width = Sets >= 8 ? 1 : 8 / Sets;

// The weight of output column `column` for input k, in panels of P over a fan-in of FanIn
// (core/layout.hpp; recurrent_view::at).
template <std::size_t FanIn, class T>
[[gnu::always_inline]] inline T panel_weight(const T* w, std::size_t column, std::size_t k) noexcept {
    constexpr std::size_t P = panel_width<T>;
    return w[column / P * (FanIn * P) + k * P + column % P];
}

// One step of Cell for lane_count<T> streams: h (and c) updated in place from input x.
template <class Cell, std::size_t In, std::size_t Hidden, class T>
inline void recurrent_lanes_step(const T* x, const T* w_ih, const T* b_ih, const T* w_hh, const T* b_hh, T* h,
                                 T* c) noexcept {
    using V = vector<T>;
    using G = recurrent_geometry<Cell, Hidden, T>;
    constexpr std::size_t W = V::size, hp = G::hp, ng = G::gates;
    constexpr std::size_t nv = (Hidden + W - 1) / W;  // recurrent_step's vectors per gate
    constexpr std::size_t total = ng * nv;
    V xs[In], hs[Hidden], next_h[Hidden], next_c[Hidden];
    for (std::size_t k = 0; k < In; ++k) xs[k] = V::load_aligned(x + k * W);
    for (std::size_t j = 0; j < Hidden; ++j) hs[j] = V::load_aligned(h + j * W);
    // Unit j of recurrent_step lives in its vector v = j / W, lane j % W: v (with the gate) fixes
    // its pass of the row product, and so the accumulator sets of its sums.
    for_each_index<nv>([&](auto v) {
        constexpr std::size_t first = decltype(v)::value * W;
        constexpr std::size_t units = Hidden - first < W ? Hidden - first : W;
        V a[ng][units], r[ng][units];
        for_each_index<ng>([&](auto g) {
            constexpr std::size_t sets = replay_sets<total, accumulator_block, decltype(g)::value * nv + decltype(v)::value>;
            constexpr std::size_t side = replay_width<sets> < units ? replay_width<sets> : units;
            // The sums of units [u, u + Count): the gate's columns g * hp + first + u + i.
            const auto sums = [&]<std::size_t Count>(std::size_t u, std::integral_constant<std::size_t, Count>) {
                const std::size_t column = decltype(g)::value * hp + first + u;
                constexpr bool summed = Cell::summed_gates[decltype(g)::value];
                V sa[Count], sr[Count];
                for (std::size_t i = 0; i < Count; ++i) sa[i] = V(b_ih[column + i]);
                replay_row_sums<In, sets, Count, T>(
                    sa, xs, [&](std::size_t i, std::size_t k) { return panel_weight<In>(w_ih, column + i, k); });
                // recurrent_step starts a summed gate's sum over h from a + b_hh.
                for (std::size_t i = 0; i < Count; ++i)
                    sr[i] = summed ? sa[i] + V(b_hh[column + i]) : V(b_hh[column + i]);
                replay_row_sums<Hidden, sets, Count, T>(
                    sr, hs, [&](std::size_t i, std::size_t k) { return panel_weight<Hidden>(w_hh, column + i, k); });
                for (std::size_t i = 0; i < Count; ++i) {
                    a[g][u + i] = summed ? sr[i] : sa[i];  // s (layers/recurrent.hpp)
                    r[g][u + i] = sr[i];
                }
            };
            constexpr std::size_t rest = units % side;
            for (std::size_t u = 0; u < units - rest; u += side) sums(u, std::integral_constant<std::size_t, side>{});
            if constexpr (rest > 0) sums(units - rest, std::integral_constant<std::size_t, rest>{});
        });
        for (std::size_t u = 0; u < units; ++u) {
            const std::size_t j = first + u;
            V av[ng], rv[ng], gate[ng], extra;
            for (std::size_t g = 0; g < ng; ++g) {
                av[g] = a[g][u];
                rv[g] = r[g][u];
            }
            const V c_prev = Cell::has_cell_state ? V::load_aligned(c + j * W) : V(T(0));
            Cell::forward_step(av, rv, hs[j], c_prev, gate, extra, next_h[j], next_c[j]);
        }
    });
    for (std::size_t j = 0; j < Hidden; ++j) {
        next_h[j].store_aligned(h + j * W);
        if constexpr (Cell::has_cell_state) next_c[j].store_aligned(c + j * W);
    }
}

// dense_row (identity activation) for lane_count<T> streams: y = x W + b, x In rows, y Out rows.
template <std::size_t In, std::size_t Out, class T>
inline void dense_lanes(const T* x, const T* w, const T* b, T* y) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size, nv = (Out + W - 1) / W;
    // dense_row's passes: as many vectors as the registers hold for a short row, long_row_blocks
    // blocks for a long one.
    constexpr std::size_t block = In <= 64 ? accumulator_block : long_row_blocks * panel_width<T> / W;
    V xs[In];
    for (std::size_t k = 0; k < In; ++k) xs[k] = V::load_aligned(x + k * W);
    for_each_index<nv>([&](auto v) {
        constexpr std::size_t first = decltype(v)::value * W;
        constexpr std::size_t units = Out - first < W ? Out - first : W;
        constexpr std::size_t sets = replay_sets<nv, block, decltype(v)::value>;
        for (std::size_t o = first; o < first + units; ++o) {
            V sum[1] = {V(T(0))};
            replay_row_sums<In, sets, 1, T>(sum, xs, [&](std::size_t, std::size_t k) { return panel_weight<In>(w, o, k); });
            (sum[0] + V(b[o])).store_aligned(y + o * W);
        }
    });
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
