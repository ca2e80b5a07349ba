#pragma once
// Reduced-precision weights: the scalar conversions (float -> bf16 / int8, and back, the
// reference every SIMD kernel is tested against) and the one SIMD operation the batch-1 kernels
// need from them, per instruction set:
//
//     widen_row<F>(row, out)   the 16 weights of one row (16 consecutive outputs of one input)
//                              as 16 / vector_width<float> float vectors, in output order.
//
// xsimd 8.1 has neither a bf16 type nor sign-extending byte widening, so these few lines use the
// intrinsics of each instruction set directly; xsimd batches are built from the registers.
//
// Row layouts (the same on every instruction set, so one weights object serves every arch of
// runtime dispatch):
//   float32  16 floats, output c at position c.
//   bf16     16 bf16 (32 bytes); output c < 8 at position 2c, output 8 + c at 2c + 1, so that the
//            32-bit lane c holds outputs c (low half) and 8 + c (high half): a 16-bit left shift
//            widens the first, a mask of the low half the second. No shuffle on any arch but
//            AVX-512 (one permute there).
//   int8     16 int8, output c at position c; the per-output scale is applied to the finished sum.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <hinge/kernels/simd.hpp>
#include <hinge/core/batch1_layout.hpp>

namespace hinge::kernels {

// ---- scalar reference (instruction-set independent) -------------------------------------------

// bf16: the upper 16 bits of a float, rounded to nearest, ties to even. NaN stays a (quiet) NaN;
// a finite float that rounds past the largest bf16 becomes infinity, as IEEE rounding says.
inline std::uint16_t bf16_from_float(float value) noexcept {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if (std::isnan(value)) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
    const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

inline float float_from_bf16(std::uint16_t value) noexcept {
    return std::bit_cast<float>(static_cast<std::uint32_t>(value) << 16);
}

// Where output c (0..15) of a 16-output row sits in a bf16 row.
constexpr std::size_t bf16_position(std::size_t c) noexcept { return c < 8 ? 2 * c : 2 * (c - 8) + 1; }

// The float that stored weight `s` of format F stands for, before int8's row scale.
template <weight_format F>
inline float widen_scalar(weight_storage_t<F> s) noexcept {
    if constexpr (F == weight_format::bf16) return float_from_bf16(s);
    else return static_cast<float>(s);
}

// Position of output c in a row of format F.
template <weight_format F>
constexpr std::size_t row_position(std::size_t c) noexcept {
    return F == weight_format::bf16 ? bf16_position(c) : c;
}

}  // namespace hinge::kernels

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

inline constexpr std::size_t vectors_per_row = rows_block / vector_width<float>;

// The 16 weights of a row, widened to float, in output order.
// @pre row is 16-byte aligned (the weights object aligns every row of the rows layout).
template <weight_format F>
inline void widen_row(const weight_storage_t<F>* row, vector<float> (&out)[vectors_per_row]) noexcept {
    using V = vector<float>;
    if constexpr (F == weight_format::float32) {
        for (std::size_t v = 0; v < vectors_per_row; ++v) out[v] = V::load_aligned(row + v * V::size);
    } else if constexpr (F == weight_format::bf16) {
#if defined(__AVX512F__)
        // 16 words zero-extended to 16 lanes, shifted into the float's upper half: lane j holds
        // position j, i.e. outputs 0, 8, 1, 9, ...; one permute restores output order.
        const __m512i words = _mm512_cvtepu16_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(row)));
        const __m512 lanes = _mm512_castsi512_ps(_mm512_slli_epi32(words, 16));
        const __m512i order = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        out[0] = V(_mm512_permutexvar_ps(order, lanes));
#elif defined(__AVX2__)
        const __m256i pairs = _mm256_load_si256(reinterpret_cast<const __m256i*>(row));
        out[0] = V(_mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16)));
        out[1] = V(_mm256_castsi256_ps(_mm256_and_si256(pairs, _mm256_set1_epi32(static_cast<int>(0xffff0000u)))));
#elif defined(__SSE2__)
        // Positions 0..7 are outputs 0-3 (low halves) and 8-11 (high halves); 8..15 the rest.
        const __m128i mask = _mm_set1_epi32(static_cast<int>(0xffff0000u));
        const __m128i first = _mm_load_si128(reinterpret_cast<const __m128i*>(row));
        const __m128i second = _mm_load_si128(reinterpret_cast<const __m128i*>(row + 8));
        out[0] = V(_mm_castsi128_ps(_mm_slli_epi32(first, 16)));
        out[1] = V(_mm_castsi128_ps(_mm_slli_epi32(second, 16)));
        out[2] = V(_mm_castsi128_ps(_mm_and_si128(first, mask)));
        out[3] = V(_mm_castsi128_ps(_mm_and_si128(second, mask)));
#else
        alignas(64) float lanes[rows_block];
        for (std::size_t c = 0; c < rows_block; ++c) lanes[c] = float_from_bf16(row[bf16_position(c)]);
        for (std::size_t v = 0; v < vectors_per_row; ++v) out[v] = V::load_aligned(lanes + v * V::size);
#endif
    } else {
        static_assert(F == weight_format::int8);
#if defined(__AVX512F__)
        const __m128i bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(row));
        out[0] = V(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)));
#elif defined(__AVX2__)
        // vpmovsxbd from 8 bytes, then vcvtdq2ps: two per 8 weights.
        std::int64_t low, high;
        std::memcpy(&low, row, 8);
        std::memcpy(&high, row + 8, 8);
        out[0] = V(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(low))));
        out[1] = V(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(high))));
#elif defined(__SSE4_1__)
        for (std::size_t v = 0; v < 4; ++v) {
            std::int32_t four;
            std::memcpy(&four, row + 4 * v, 4);
            out[v] = V(_mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(four))));
        }
#elif defined(__SSE2__)
        // No sign-extending move: duplicate each byte into a whole 32-bit lane (two unpacks) and
        // shift it down arithmetically.
        const __m128i bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(row));
        const __m128i low = _mm_unpacklo_epi8(bytes, bytes);
        const __m128i high = _mm_unpackhi_epi8(bytes, bytes);
        out[0] = V(_mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpacklo_epi16(low, low), 24)));
        out[1] = V(_mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpackhi_epi16(low, low), 24)));
        out[2] = V(_mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpacklo_epi16(high, high), 24)));
        out[3] = V(_mm_cvtepi32_ps(_mm_srai_epi32(_mm_unpackhi_epi16(high, high), 24)));
#else
        alignas(64) float lanes[rows_block];
        for (std::size_t c = 0; c < rows_block; ++c) lanes[c] = static_cast<float>(row[c]);
        for (std::size_t v = 0; v < vectors_per_row; ++v) out[v] = V::load_aligned(lanes + v * V::size);
#endif
    }
}

// Vector V of a widened row (the row product reads the vectors it needs one by one; the others'
// widening is dead code the compiler drops, and two vectors of the same row share its load).
template <weight_format F, std::size_t V>
[[gnu::always_inline]] inline vector<float> widen_vector(const weight_storage_t<F>* row) noexcept {
    static_assert(V < vectors_per_row);
    vector<float> out[vectors_per_row];
    widen_row<F>(row, out);
    return out[V];
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
