#pragma once
// The vocabulary of batch-1 inference shared by the planner (runtime/batch1_plan.hpp) and the
// kernels: weight formats (kernels/weight_widening.hpp widens them back to float in registers),
// paths and products, and the width units of the layouts. Nothing here depends on the
// instruction set.
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace hinge {

// How a dense stage's weights are stored for batch-1 inference. Activations and accumulation are
// float in every format.
//   float32  4 bytes per weight, exact.
//   bf16     2 bytes: the upper half of the float (round to nearest even), widened back by a
//            16-bit shift; relative error per weight <= 2^-8 (8 significant bits).
//   int8     1 byte: round(w / s_o) with one float scale s_o = max_i |w_oi| / 127 per output o,
//            applied to the finished sum; absolute error per weight <= s_o / 2.
enum class weight_format : std::uint8_t { float32, bf16, int8 };

constexpr const char* name_of(weight_format f) noexcept {
    return f == weight_format::float32 ? "float32" : f == weight_format::bf16 ? "bf16" : "int8";
}

template <weight_format F>
using weight_storage_t = std::conditional_t<F == weight_format::float32, float,
                                            std::conditional_t<F == weight_format::bf16, std::uint16_t, std::int8_t>>;

// Output width unit of the straight-line layout (one AVX2 vector) and of the rows layout (a 64-byte
// float panel).
inline constexpr std::size_t straight_line_block = 8;
inline constexpr std::size_t rows_block = 16;

enum class batch1_path : std::uint8_t { straight_line, rows, general };

constexpr const char* name_of(batch1_path p) noexcept {
    return p == batch1_path::straight_line ? "straight_line" : p == batch1_path::rows ? "rows" : "general";
}

// How a stage of the straight-line path forms its products:
//   broadcast  y = sum_k x_k W[k, :]: input-major rows of pad8(Out) weights, x_k broadcast from a
//              lane of the previous stage's registers; outputs come out as vectors.
//   dot        y_o = <W[o, :], x>: output-major rows of pad8(In) weights and a horizontal sum per
//              output; only for the last stage, and only when it is cheaper (a narrow output such
//              as 16 -> 1, where broadcasting 16 inputs for one useful lane would waste 7 of 8).
enum class batch1_product : std::uint8_t { broadcast, dot };

}  // namespace hinge
