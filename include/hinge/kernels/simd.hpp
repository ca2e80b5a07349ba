#pragma once
// The one place where xsimd enters the library. Kernels use hinge::kernels::vector<T>, the
// widest batch the compile flags allow (SSE2: 4 floats; -mavx2 -mfma or -march=x86-64-v3: 8;
// -march=x86-64-v4, i.e. AVX-512 F/BW/DQ/VL: 16). xsimd itself comes in through detail/xsimd.hpp.
#include <cstddef>
#include <type_traits>

#include <hinge/detail/xsimd.hpp>

#include <hinge/activations/value_ops.hpp>
#include <hinge/core/panel.hpp>
#include <hinge/detail/index_loop.hpp>
#include <hinge/detail/isa_namespace.hpp>




namespace hinge {

// where() on SIMD values: lane-wise select. Activations written as where(cond, a, b) therefore
// run unchanged on xsimd batches.
template <class T, class Arch>
struct value_ops<xsimd::batch<T, Arch>> {
    using batch = xsimd::batch<T, Arch>;
    static batch where(const xsimd::batch_bool<T, Arch>& condition, const batch& if_true,
                       const batch& if_false) noexcept {
        return xsimd::select(condition, if_true, if_false);
    }
    static batch exp(const batch& x) noexcept { return xsimd::exp(x); }
    static batch expm1(const batch& x) noexcept { return xsimd::expm1(x); }
    static batch log(const batch& x) noexcept { return xsimd::log(x); }
    static batch log1p(const batch& x) noexcept { return xsimd::log1p(x); }
    static batch tanh(const batch& x) noexcept { return xsimd::tanh(x); }
    // The gates of recurrent cells (layers/recurrent.hpp) are on the critical path of a stream's
    // step, one sigmoid / tanh after another, and xsimd's tanh (a polynomial below 0.625, an exp
    // and a division above, chosen by a branch) and exp-based sigmoid cost their latency there.
    // For float: tanh(x) = x P(x^2) / Q(x^2) on |x| <= 9 (the value rounds to +-1 beyond), P and Q
    // of degree 4 with P(0) = Q(0) = 1, fitted here by iteratively reweighted least squares of the
    // relative error on [0, 9] (2.2e-8 in exact arithmetic); evaluated in float by Estrin's scheme:
    // at most 5.6 ulp from tanh (tests/layers/recurrent.cpp checks 8), no exp, one division, and
    // no branch. GRU 32 streamed 1.47x faster with it (docs/sequence.md). Double: xsimd's tanh.
    static batch gate_tanh(const batch& x) noexcept {
        if constexpr (std::is_same_v<T, float>) {
            const batch c = xsimd::min(xsimd::max(x, batch(-9.0f)), batch(9.0f));
            const batch z = c * c;
            const batch z2 = z * z;
            const batch num = xsimd::fma(z2, xsimd::fma(z2, batch(1.3420216937731766e-08f),
                                                        xsimd::fma(z, batch(2.066153501800727e-05f), batch(0.0034990122076123953f))),
                                         xsimd::fma(z, batch(0.1338399350643158f), batch(1.0f)));
            const batch den = xsimd::fma(z2, xsimd::fma(z2, batch(7.80488733198581e-07f),
                                                        xsimd::fma(z, batch(0.00032910649315454066f), batch(0.02589026652276516f))),
                                         xsimd::fma(z, batch(0.46717315912246704f), batch(1.0f)));
            return c * num / den;
        } else {
            return xsimd::tanh(x);
        }
    }
    static batch erf(const batch& x) noexcept { return xsimd::erf(x); }
    static batch sqrt(const batch& x) noexcept { return xsimd::sqrt(x); }
    static batch abs(const batch& x) noexcept { return xsimd::abs(x); }
};

namespace kernels::inline HINGE_ISA_NAMESPACE {

// The instruction set this translation unit's kernels are compiled for (runtime/dispatch.hpp
// checks that a per-arch entry point is instantiated in a file compiled for its arch).
using compiled_arch = HINGE_ISA_XSIMD_ARCH;
static_assert(std::is_same_v<compiled_arch, xsimd::default_arch>,
              "hinge: kernels/simd.hpp names this instruction set's namespace after another arch than the "
              "one xsimd compiles for; extend the table above");

template <class T>
using vector = xsimd::batch<T, compiled_arch>;

template <class T>
inline constexpr std::size_t vector_width = vector<T>::size;

// Fused multiply-add, x * y + z with one rounding, and z - x * y. xsimd 8.1 has no AVX-512
// kernel for fma / fnma: its generic fallback is a multiply and an add, which g++ fuses again
// (-ffp-contract=fast) but clang 19 does not. Measured with clang on the Sapphire Rapids guest:
// the micro-kernel's hot loop was vmulps + vaddps, and the 1024^3 training step at AVX-512 was
// 1.4-1.6x slower than Eigen's, which emits vfmadd231ps itself. So the AVX-512 case calls the
// intrinsic; every other instruction set goes through xsimd. Kernels use these, never xsimd::fma.
template <class T>
inline vector<T> multiply_add(const vector<T>& x, const vector<T>& y, const vector<T>& z) noexcept {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>)
        return _mm512_fmadd_ps(x, y, z);
    else if constexpr (std::is_same_v<T, double>)
        return _mm512_fmadd_pd(x, y, z);
    else
#endif
        return xsimd::fma(x, y, z);
}

template <class T>
inline vector<T> subtract_product(const vector<T>& x, const vector<T>& y, const vector<T>& z) noexcept {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>)
        return _mm512_fnmadd_ps(x, y, z);
    else if constexpr (std::is_same_v<T, double>)
        return _mm512_fnmadd_pd(x, y, z);
    else
#endif
        return xsimd::fnma(x, y, z);
}

// Vectors per 64-byte panel: a kernel tile is always exactly one panel wide.
template <class T>
inline constexpr std::size_t vectors_per_panel = panel_width<T> / vector_width<T>;

static_assert(panel_width<float> % vector_width<float> == 0 && panel_width<double> % vector_width<double> == 0,
              "hinge: a 64-byte panel must hold a whole number of SIMD vectors");

// Register budget of the micro-kernel: accumulators for `rows` x the tile's panels, the panel
// rows being multiplied and one broadcast value must fit in the vector register file.
inline constexpr std::size_t vector_registers =
#if defined(__AVX512F__)
    32;
#else
    16;
#endif

// The micro-kernel's tile, per instruction set: micro_panels<T> panels (of 64 bytes) wide and
// micro_rows<T> rows high (unpacked_micro_rows<T> when A is read in place, see below).
//
// 16 registers (SSE2, AVX2): one panel wide, as many rows as the registers hold (AVX2 float:
// 2 vectors per panel, 6 rows, 12 accumulators).
//
// 32 registers of 64 bytes (AVX-512): a panel is ONE vector, so a one-panel tile spends a load
// of B and R broadcast loads on R FMAs, and the register formula would ask for 30 rows. Both
// were measured to lose (32 -> 64x12 -> 4 MLP, SGD step, batch 32, g++ 12 on a Sapphire Rapids
// guest: 286 us against 125 us for the AVX2 build of the same source): neither compiler unrolls
// a 30-row loop, so every accumulator lives on the stack (the hot loop was vfmadd213ps with a
// memory operand followed by a vmovaps store, seen in perf annotate), and 30 row pointers do not
// fit the 15 general registers. Two panels (two vectors) wide and 8 rows high (6 with clang,
// below) halve the broadcasts of A per FMA and keep 16 (12) accumulators in registers: 84-93 us,
// faster than Eigen's 103-109 us in the same run.
template <class T>
inline constexpr std::size_t micro_panels = vector_registers >= 32 && vectors_per_panel<T> == 1 ? 2 : 1;

// Rows of the two-panel tile with 32 registers, measured (docs/performance.md, "AVX-512": a
// sweep of 6, 8, 10, 12 and 14 rows over the training workloads of bench/, both compilers, on a
// Sapphire Rapids guest). g++ 12: 8 is best or within noise of the best everywhere. clang 19:
// 6 and 14 rows run at Eigen's speed, 8, 10 and 12 are 1.4-1.7x slower (the 784-256-128-10 step:
// 527 us against 848-1059 us), so clang takes 6, away from that cliff.
inline constexpr std::size_t wide_tile_rows =
#if defined(__clang__)
    6;
#else
    8;
#endif

template <class T>
inline constexpr std::size_t micro_rows = [] {
    constexpr std::size_t nv = vectors_per_panel<T> * micro_panels<T>;
    if constexpr (vector_registers >= 32) {
        return wide_tile_rows;
    } else {
        constexpr std::size_t rows = (vector_registers - nv - 1) / nv;
        return rows < 1 ? std::size_t{1} : rows;
    }
}();

// Rows of the tile when A is read in place through one pointer per row (forward and
// input-gradient products) rather than packed. g++ 12 runs out of registers there with the full
// 16-register tile: it keeps one accumulator on the stack, a load and a store on the loop-carried
// chain of every depth step (seen in objdump; the 784x256 batch-64 forward took 840 us instead of
// 401 us with one row fewer). clang 19 allocates the full tile without spilling, and one row
// fewer makes its training step slower (1.02 -> 1.43 ms), so the row is dropped for g++ only.
template <class T>
inline constexpr std::size_t unpacked_micro_rows =
#if defined(__AVX512F__)
    wide_tile_rows;
#elif defined(__GNUC__) && !defined(__clang__)
    micro_rows<T> > 1 ? micro_rows<T> - 1 : micro_rows<T>;
#else
    micro_rows<T>;
#endif

}  // namespace kernels::inline HINGE_ISA_NAMESPACE
}  // namespace hinge
