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

namespace detail {

// Fused multiply-add, x * y + z with one rounding, and z - x * y, on any batch. xsimd 8.1 has no
// AVX-512 kernel for fma / fnma: its generic fallback is a multiply and an add, which g++ fuses
// again (-ffp-contract=fast) but clang 19 does not. Measured with clang on the Sapphire Rapids
// guest: the micro-kernel's hot loop was vmulps + vaddps, and the 1024^3 training step at AVX-512
// was 1.4-1.6x slower than Eigen's, which emits vfmadd231ps itself. So a 64-byte batch calls the
// intrinsic; every other one goes through xsimd. Kernels use kernels::multiply_add (below) and
// the gate functions these; none calls xsimd::fma.
template <class T, class A>
inline xsimd::batch<T, A> fused_multiply_add(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y,
                                             const xsimd::batch<T, A>& z) noexcept {
#if defined(__AVX512F__)
    if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>)
        return _mm512_fmadd_ps(x, y, z);
    else if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, double>)
        return _mm512_fmadd_pd(x, y, z);
    else
#endif
        return xsimd::fma(x, y, z);
}

template <class T, class A>
inline xsimd::batch<T, A> fused_subtract_product(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y,
                                                 const xsimd::batch<T, A>& z) noexcept {
#if defined(__AVX512F__)
    if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, float>)
        return _mm512_fnmadd_ps(x, y, z);
    else if constexpr (sizeof(xsimd::batch<T, A>) == 64 && std::is_same_v<T, double>)
        return _mm512_fnmadd_pd(x, y, z);
    else
#endif
        return xsimd::fnma(x, y, z);
}

// The rational gate functions of recurrent cells on float batches (value_ops::gate_tanh,
// gate_sigmoid below). They are on the critical path of a stream's step, one after another
// (gru: sigmoid, then tanh of a value it scales; lstm: the gates, then tanh of the cell), so they
// are written for latency: every operation that does not need the input's square runs beside
// those that do.
//
// tanh(x) = x P(x^2) / Q(x^2) on |x| <= 9 (the value rounds to +-1 beyond), P and Q of degree 4
// with P(0) = Q(0) = 1, fitted by iteratively reweighted least squares of the relative error on
// [0, 9] (2.2e-8 in exact arithmetic), evaluated by Estrin's scheme: no exp, no branch, one
// quotient. xsimd's tanh (a polynomial below 0.625, an exp and a division above, chosen by a
// branch) and an exp-based sigmoid cost far more latency (20-35 % of a GRU step when the rational
// tanh replaced them; docs/history/performance-log.md).
struct rational_tanh {
    static constexpr float p[5] = {1.0f, 0.1338399350643158f, 0.0034990122076123953f, 2.066153501800727e-05f,
                                   1.3420216937731766e-08f};
    static constexpr float q[5] = {1.0f, 0.46717315912246704f, 0.02589026652276516f, 0.00032910649315454066f,
                                   7.80488733198581e-07f};

    // c0 + c1 z + c2 z^2 + c3 z^3 + c4 z^4 by Estrin's scheme: three FMAs deep after z^2.
    template <class B>
    static B polynomial(const float (&c)[5], B z, B z2) noexcept {
        return fused_multiply_add(z2, fused_multiply_add(z2, B(c[4]), fused_multiply_add(z, B(c[3]), B(c[2]))),
                                  fused_multiply_add(z, B(c[1]), B(c[0])));
    }
    // n / d for d >= 1. With AVX-512 a 16-float division has about 17 cycles of latency: the
    // 14-bit reciprocal refined by one Newton step is 12 and within 1 ulp of the quotient (the
    // functions stay within their stated accuracy; tests/layers/recurrent.cpp). With 8 floats or
    // fewer the division is as fast (11 cycles) and exact, and the 12-bit reciprocal of AVX would
    // not be accurate enough, so it stays a division.
    template <class B>
    static B quotient(B n, B d) noexcept {
        if constexpr (sizeof(B) == 64) {
            const B t = xsimd::reciprocal(d);
            const B estimate = n * t;
            const B error = fused_subtract_product(d, t, B(1.0f));  // 1 - d t, beside the estimate
            return fused_multiply_add(estimate, error, estimate);
        } else {
            return n / d;
        }
    }
    // x squared and clamped to the fit's range: min(x^2, bound^2) waits for one multiply where
    // clamping x first would put two operations before it (the clamped x itself, the odd factor,
    // is computed beside it).
    template <class B>
    static B tanh(B x) noexcept {
        const B odd = xsimd::min(xsimd::max(x, B(-9.0f)), B(9.0f));
        const B z = xsimd::min(x * x, B(81.0f));
        const B z2 = z * z;
        return quotient(odd * polynomial(p, z, z2), polynomial(q, z, z2));
    }
    // sigmoid(x) = (1 + tanh(x / 2)) / 2 = (Q(x^2 / 4) + x / 2 P(x^2 / 4)) / (2 Q(x^2 / 4)): the
    // halving of x and the final (1 + t) / 2 are folded into the coefficients (powers of 2, so
    // exactly), which takes two dependent operations off the critical path.
    static constexpr float sigmoid_p[5] = {p[0] / 2, p[1] / 8, p[2] / 32, p[3] / 128, p[4] / 512};
    static constexpr float sigmoid_q[5] = {q[0], q[1] / 4, q[2] / 16, q[3] / 64, q[4] / 256};
    template <class B>
    static B sigmoid(B x) noexcept {
        const B odd = xsimd::min(xsimd::max(x, B(-18.0f)), B(18.0f));
        const B z = xsimd::min(x * x, B(324.0f));
        const B z2 = z * z;
        const B q_half = polynomial(sigmoid_q, z, z2);
        return quotient(fused_multiply_add(odd, polynomial(sigmoid_p, z, z2), q_half), q_half + q_half);
    }
};

}  // namespace detail

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
    // The gates of recurrent cells: on float the rational functions above, at most 5.6 ulp from
    // tanh and 2e-7 from sigmoid (tests/layers/recurrent.cpp checks 8 ulp and 2e-7); on double
    // xsimd's tanh, and the sigmoid from it.
    static batch gate_tanh(const batch& x) noexcept {
        if constexpr (std::is_same_v<T, float>) return detail::rational_tanh::tanh(x);
        else return xsimd::tanh(x);
    }
    static batch gate_sigmoid(const batch& x) noexcept {
        if constexpr (std::is_same_v<T, float>) return detail::rational_tanh::sigmoid(x);
        else return batch(T(0.5)) + batch(T(0.5)) * xsimd::tanh(batch(T(0.5)) * x);
    }
    static batch multiply_add(const batch& x, const batch& y, const batch& z) noexcept {
        return detail::fused_multiply_add(x, y, z);
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

// Fused multiply-add, x * y + z with one rounding, and z - x * y (detail::fused_multiply_add
// says why not xsimd::fma). Kernels use these, never xsimd::fma.
template <class T>
inline vector<T> multiply_add(const vector<T>& x, const vector<T>& y, const vector<T>& z) noexcept {
    return detail::fused_multiply_add(x, y, z);
}

template <class T>
inline vector<T> subtract_product(const vector<T>& x, const vector<T>& y, const vector<T>& z) noexcept {
    return detail::fused_subtract_product(x, y, z);
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
