#pragma once
// The one place where xsimd enters the library. Kernels use hinge::kernels::vector<T>, the
// widest batch the compile flags allow (SSE2: 4 floats; -mavx2 -mfma or -march=x86-64-v3: 8).
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include <hinge/activations/value_ops.hpp>
#include <hinge/core/layout.hpp>
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

// Vectors per 64-byte panel: a kernel tile is always exactly one panel wide.
template <class T>
inline constexpr std::size_t vectors_per_panel = panel_width<T> / vector_width<T>;

static_assert(panel_width<float> % vector_width<float> == 0 && panel_width<double> % vector_width<double> == 0,
              "hinge: a 64-byte panel must hold a whole number of SIMD vectors");

// Register budget of the micro-kernel: accumulators for `rows` x one panel, the panel row being
// multiplied and one broadcast value must fit in the vector register file.
inline constexpr std::size_t vector_registers =
#if defined(__AVX512F__)
    32;
#else
    16;
#endif

template <class T>
inline constexpr std::size_t micro_rows = [] {
    constexpr std::size_t nv = vectors_per_panel<T>;
    constexpr std::size_t rows = (vector_registers - nv - 1) / nv;
    return rows < 1 ? std::size_t{1} : rows;
}();

// Rows of the tile when A is read in place through one pointer per row (forward and
// input-gradient products) rather than packed. g++ 12 runs out of registers there with the full
// tile: it keeps one accumulator on the stack, a load and a store on the loop-carried chain of
// every depth step (seen in objdump; the 784x256 batch-64 forward took 840 us instead of 401 us
// with one row fewer). clang 19 allocates the full tile without spilling, and one row fewer
// makes its training step slower (1.02 -> 1.43 ms), so the row is dropped for g++ only.
template <class T>
inline constexpr std::size_t unpacked_micro_rows =
#if defined(__GNUC__) && !defined(__clang__)
    micro_rows<T> > 1 ? micro_rows<T> - 1 : micro_rows<T>;
#else
    micro_rows<T>;
#endif

}  // namespace kernels::inline HINGE_ISA_NAMESPACE
}  // namespace hinge
