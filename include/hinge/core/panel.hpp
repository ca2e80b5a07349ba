#pragma once
// The storage unit every layout and kernel agrees on, and nothing else: a header the kernels can
// include without the planner.
//
// Every channel dimension is stored in whole *panels* of 64 bytes (16 floats, 8 doubles). A panel
// is a whole number of SIMD vectors on SSE2, AVX2 and AVX-512, so no kernel handles a partial
// vector, and every row starts on a cache line.
#include <cstddef>

namespace hinge {

inline constexpr std::size_t storage_alignment = 64;

template <class T>
inline constexpr std::size_t panel_width = storage_alignment / sizeof(T);

constexpr std::size_t round_up(std::size_t n, std::size_t multiple) {
    return (n + multiple - 1) / multiple * multiple;
}

// Kernel blocking constants that storage must know to size its scratch (kernels/gemm.hpp uses
// them). depth_block: rows of a B panel kept in L1 at once (256 x 64 bytes = 16 KB, half of a
// 32 KB L1). max_micro_rows: an upper bound of the micro-kernel's row count on every supported
// instruction set.
inline constexpr std::size_t depth_block = 256;
inline constexpr std::size_t max_micro_rows = 32;

// "No such tensor / buffer" in offset tables.
inline constexpr std::size_t no_offset = static_cast<std::size_t>(-1);

}  // namespace hinge
