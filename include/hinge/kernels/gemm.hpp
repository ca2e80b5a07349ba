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

#include <hinge/core/work_share.hpp>
#include <hinge/kernels/row_product.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Where a tile sits in the depth loop: the first depth block starts from zero, later ones from
// the partial sums stored in the destination; only the last one runs the epilogue.
struct depth_block_position {
    bool first;
    bool last;
};

// One tile: Rows rows of A times Panels consecutive panels of B (panel q at b + q * b_panel_step),
// accumulated over `depth` in registers. The epilogue sees the tile's columns as one row of
// Panels * vectors_per_panel vectors starting at first_column.
// @pre a_rows[i] is valid for every i < Rows (the caller repeats the last valid row for tails);
//      b is 64-byte aligned and so is every row of it.
template <std::size_t Rows, std::size_t Panels, class T, class Epilogue>
inline void micro_tile(std::size_t depth, const T* const (&a_rows)[Rows], std::size_t a_depth_step,
                       const T* b, std::size_t b_panel_step, std::size_t b_row_step, Epilogue& epilogue,
                       std::size_t first_row, std::size_t valid_rows, std::size_t first_column,
                       depth_block_position block) noexcept {
    using V = vector<T>;
    constexpr std::size_t npv = vectors_per_panel<T>;
    constexpr std::size_t nv = Panels * npv;
    V acc[Rows][nv];
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t v = 0; v < nv; ++v)
            acc[i][v] = block.first || i >= valid_rows
                            ? V(T(0))
                            : V::load_aligned(epilogue.partial(first_row + i, first_column + v * V::size));
    }

    std::size_t a_offset = 0;
    // g++ 12 runs this loop with ~3 scalar instructions (counter, compare, branch, pointer bumps)
    // per depth step; unrolled by 4 a training step of 784-256-128-10 at batch 64 executes 20%
    // fewer instructions (callgrind: 10.9M -> 8.8M per step) and the weight-gradient product
    // runs ~12% faster. clang 19 already runs this loop near Eigen's speed, and unrolled by 2 or
    // by 4 (#pragma clang loop unroll_count) it ran the dense_layer products 2.2-2.4x slower, so
    // only g++ gets the hint.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 4
#endif
    for (std::size_t p = 0; p < depth; ++p) {
        V panel_row[nv];
        for (std::size_t q = 0; q < Panels; ++q)
            for (std::size_t v = 0; v < npv; ++v)
                panel_row[q * npv + v] = V::load_aligned(b + q * b_panel_step + v * V::size);
        for (std::size_t i = 0; i < Rows; ++i) {
            const V a(a_rows[i][a_offset]);
            for (std::size_t v = 0; v < nv; ++v) acc[i][v] = multiply_add(a, panel_row[v], acc[i][v]);
        }
        a_offset += a_depth_step;
        b += b_row_step;
    }

    if (block.last) {
        epilogue(first_row, valid_rows, first_column, acc);
        return;
    }
    for (std::size_t i = 0; i < Rows; ++i) {
        if (i >= valid_rows) break;
        for (std::size_t v = 0; v < nv; ++v)
            acc[i][v].store_aligned(epilogue.partial(first_row + i, first_column + v * V::size));
    }
}

// A single row (the batch-1 path): one panel of the row product (kernels/row_product.hpp), the
// depth split over four independent accumulator sets so that the FMA latency is hidden.
template <class T, class Epilogue>
inline void single_row_panel(std::size_t depth, const T* a, std::size_t a_depth_step, const T* b,
                             std::size_t b_row_step, Epilogue& epilogue, std::size_t first_column,
                             bool accumulate = false) noexcept {
    using V = vector<T>;
    constexpr std::size_t nv = vectors_per_panel<T>;
    V sum[1][nv];
    for (std::size_t v = 0; v < nv; ++v) sum[0][v] = V(T(0));
    accumulate_row<weight_format::float32, block_vectors<nv>, 0, nv, 4>(depth, a, a_depth_step, b, b_row_step, sum[0]);
    if (accumulate)
        for (std::size_t v = 0; v < nv; ++v) sum[0][v] += V::load_aligned(epilogue.partial(0, first_column) + v * V::size);
    epilogue(std::size_t{0}, std::size_t{1}, first_column, sum);
}

static_assert(micro_rows<float> <= max_micro_rows && micro_rows<double> <= max_micro_rows,
              "hinge: layout.hpp's max_micro_rows must bound the micro-kernel's rows");

// Copies one depth block of a strided A (rows first_row..last_row-1 x block_depth) into `packed`
// as consecutive row blocks of mr rows, each stored depth-major (mr values per depth step), tail
// rows repeated. The weight-gradient product reads A = X^T, whose rows are columns of X:
// unpacked, a tile would touch a new cache line at every depth step; packed, it streams one.
template <std::size_t Mr, class T>
inline void pack_a_block(std::size_t first_row, std::size_t last_row, std::size_t block_depth, const T* a,
                         std::size_t a_row_step, std::size_t a_depth_step, T* packed) noexcept {
    // Whole row blocks first, with no clamp and, when A's rows are adjacent (A = X^T: a row of A
    // is a column of X), a plain copy of Mr values; then the tail block, its last row repeated.
    // (One loop with the clamp for every value cost the single-threaded CNN step 3x the packing
    // instructions once the row range became a run-time value.)
    const std::size_t rows = last_row - first_row;
    const std::size_t whole_blocks = rows / Mr;
    const std::size_t tail = rows - whole_blocks * Mr;
    for (std::size_t p = 0; p < block_depth; ++p) {
        const T* source = a + p * a_depth_step + first_row * a_row_step;
        T* target = packed + p * Mr;
        if (a_row_step == 1) {
            for (std::size_t rb = 0; rb < whole_blocks; ++rb, target += block_depth * Mr, source += Mr)
                for (std::size_t i = 0; i < Mr; ++i) target[i] = source[i];
        } else {
            for (std::size_t rb = 0; rb < whole_blocks; ++rb, target += block_depth * Mr, source += Mr * a_row_step)
                for (std::size_t i = 0; i < Mr; ++i) target[i] = source[i * a_row_step];
        }
        if (tail)
            for (std::size_t i = 0; i < Mr; ++i) target[i] = source[std::min(i, tail - 1) * a_row_step];
    }
}

// The tiles one member of a team computes: rows [first_row, last_row) and panels
// [first_panel, last_panel) of C. Boundaries fall on whole tiles (multiples of the tile's rows
// and panels), so every tile is the serial pass's tile and the result is the same bit for bit.
struct tile_range {
    std::size_t first_row, last_row;
    std::size_t first_panel, last_panel;
};

template <std::size_t Mr, class T>
constexpr tile_range tiles_of(work_share share, product_split split, std::size_t rows, std::size_t panels) noexcept {
    constexpr std::size_t Q = micro_panels<T>;
    if (split == product_split::rows) {
        const std::size_t blocks = (rows + Mr - 1) / Mr;
        return {std::min(rows, share.begin(blocks) * Mr), std::min(rows, share.end(blocks) * Mr), 0, panels};
    }
    const std::size_t units = (panels + Q - 1) / Q;
    return {0, rows, std::min(panels, share.begin(units) * Q), std::min(panels, share.end(units) * Q)};
}

// Every (depth block, panel, row block) tile of `range` once, with tiles of Mr rows; A packed per
// depth block when Packed. A member packs only its own rows, into its own part of the scratch
// (rows r of the range at (r - first_row) * block_depth past first_row * full_depth_block), so
// members of a team never write the same packed values.
template <std::size_t Mr, bool Packed, class T, class Epilogue>
inline void blocked_tiles(tile_range range, std::size_t depth, const T* a, std::size_t a_row_step,
                          std::size_t a_depth_step, const T* b, std::size_t b_panel_step, std::size_t b_row_step,
                          Epilogue& epilogue, T* a_packing_scratch, bool accumulate) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t kc = depth_block;
    T* packing = nullptr;
    if constexpr (Packed) packing = a_packing_scratch + range.first_row * std::min(kc, depth);
    for (std::size_t p0 = 0; p0 < depth; p0 += kc) {
        const std::size_t block_depth = std::min(kc, depth - p0);
        const depth_block_position block{p0 == 0 && !accumulate, p0 + block_depth == depth};
        if constexpr (Packed)
            pack_a_block<Mr>(range.first_row, range.last_row, block_depth, a + p0 * a_depth_step, a_row_step,
                             a_depth_step, packing);
        // Tiles of micro_panels<T> panels, then a one-panel tile for an odd last panel.
        constexpr std::size_t Q = micro_panels<T>;
        for (std::size_t j = range.first_panel; j < range.last_panel; j += Q) {
            const T* panel = b + j * b_panel_step + p0 * b_row_step;
            for (std::size_t i0 = range.first_row; i0 < range.last_row; i0 += Mr) {
                const std::size_t valid = std::min(Mr, range.last_row - i0);
                const T* a_rows[Mr];
                std::size_t step = a_depth_step;
                if constexpr (Packed) {
                    const T* packed = packing + (i0 - range.first_row) * block_depth;  // this row block
                    for (std::size_t i = 0; i < Mr; ++i) a_rows[i] = packed + i;
                    step = Mr;
                } else {
                    // Tail rows repeat the last valid row: the tile stays full width in registers
                    // and only the valid rows are stored.
                    for (std::size_t i = 0; i < Mr; ++i)
                        a_rows[i] = a + (i0 + std::min(i, valid - 1)) * a_row_step + p0 * a_depth_step;
                }
                if (Q == 1 || j + Q <= range.last_panel)
                    micro_tile<Mr, Q>(block_depth, a_rows, step, panel, b_panel_step, b_row_step, epilogue, i0,
                                      valid, j * P, block);
                else
                    micro_tile<Mr, 1>(block_depth, a_rows, step, panel, b_panel_step, b_row_step, epilogue, i0,
                                      valid, j * P, block);
            }
        }
    }
}

// The driver: every (depth block, panel, row block) tile once, in that loop order, so that the
// depth block of a B panel (depth_block x 64 bytes = 16 KB) is reused from L1 by all row blocks.
// Epilogues provide partial(row, column), the address where a tile's unfinished sums wait
// between depth blocks (their own destination). With a non-null a_packing_scratch (at least
// (rows + max_micro_rows) x depth_block values), A is packed per depth block first; pass it
// when A's depth step is not 1. With accumulate, C += A B: the product is added to what the
// epilogue's partial() already holds (the weight gradient of a convolution, one sample at a time).
// share / split: the tiles of one member of a team (core/work_share.hpp); rows and columns keep
// their absolute numbers, so epilogues that depend on them (noise, column sums) see the serial
// pass's values. A row split must not be used with an epilogue that sums over rows into shared
// memory (derivative_epilogue's column sums) unless its targets are the member's own.
template <class T, class Epilogue>
inline void gemm(std::size_t rows, std::size_t depth, std::size_t panels, const T* a, std::size_t a_row_step,
                 std::size_t a_depth_step, const T* b, std::size_t b_panel_step, std::size_t b_row_step,
                 Epilogue& epilogue, T* a_packing_scratch = nullptr, bool accumulate = false,
                 work_share share = {}, product_split split = product_split::panels) noexcept {
    constexpr std::size_t P = panel_width<T>;
    if (rows == 1) {
        // Batch 1: every weight is used once, so there is nothing to block or pack for.
        // A team splits the panels (there is one row), as tiles_of does for a panel split.
        const tile_range range = tiles_of<1, T>(share, product_split::panels, rows, panels);
        for (std::size_t j = range.first_panel; j < range.last_panel; ++j)
            single_row_panel(depth, a, a_depth_step, b + j * b_panel_step, b_row_step, epilogue, j * P, accumulate);
        return;
    }
    if (a_packing_scratch)
        blocked_tiles<micro_rows<T>, true>(tiles_of<micro_rows<T>, T>(share, split, rows, panels), depth, a,
                                           a_row_step, a_depth_step, b, b_panel_step, b_row_step, epilogue,
                                           a_packing_scratch, accumulate);
    else
        blocked_tiles<unpacked_micro_rows<T>, false>(tiles_of<unpacked_micro_rows<T>, T>(share, split, rows, panels),
                                                     depth, a, a_row_step, a_depth_step, b, b_panel_step, b_row_step,
                                                     epilogue, static_cast<T*>(nullptr), accumulate);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
