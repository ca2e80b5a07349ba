#pragma once
// HINGE_ISA_NAMESPACE: the name of the inline namespace that holds hinge's flag-dependent code.
//
// Every function whose machine code depends on the instruction set (the kernels, and the passes
// and training step that inline them) lives in an inline namespace named after the instruction
// set the translation unit is compiled for. Two translation units built with different flags
// (a plugin's AVX2 file next to an SSE2 one, or the per-arch files of runtime/dispatch.hpp)
// then instantiate differently named functions, instead of two different bodies under one name
// of which the linker keeps either (an ODR violation that runs AVX2 code on the SSE2 path and
// dies with SIGILL on an older CPU). Callers never spell it: hinge::kernels::gemm and
// hinge::forward find it as before. The static_assert below ties the name to the arch xsimd
// picks for these flags.
#if defined(__AVX512BW__)
#define HINGE_ISA_NAMESPACE isa_avx512bw
#define HINGE_ISA_XSIMD_ARCH xsimd::avx512bw
#elif defined(__AVX512DQ__)
#define HINGE_ISA_NAMESPACE isa_avx512dq
#define HINGE_ISA_XSIMD_ARCH xsimd::avx512dq
#elif defined(__AVX512CD__)
#define HINGE_ISA_NAMESPACE isa_avx512cd
#define HINGE_ISA_XSIMD_ARCH xsimd::avx512cd
#elif defined(__AVX512F__)
#define HINGE_ISA_NAMESPACE isa_avx512f
#define HINGE_ISA_XSIMD_ARCH xsimd::avx512f
#elif defined(__AVX2__) && defined(__FMA__)
#define HINGE_ISA_NAMESPACE isa_fma3_avx2
#define HINGE_ISA_XSIMD_ARCH xsimd::fma3<xsimd::avx2>
#elif defined(__AVX2__)
#define HINGE_ISA_NAMESPACE isa_avx2
#define HINGE_ISA_XSIMD_ARCH xsimd::avx2
#elif defined(__AVX__) && defined(__FMA__)
#define HINGE_ISA_NAMESPACE isa_fma3_avx
#define HINGE_ISA_XSIMD_ARCH xsimd::fma3<xsimd::avx>
#elif defined(__AVX__)
#define HINGE_ISA_NAMESPACE isa_avx
#define HINGE_ISA_XSIMD_ARCH xsimd::avx
#elif defined(__SSE4_2__)
#define HINGE_ISA_NAMESPACE isa_sse4_2
#define HINGE_ISA_XSIMD_ARCH xsimd::sse4_2
#elif defined(__SSE4_1__)
#define HINGE_ISA_NAMESPACE isa_sse4_1
#define HINGE_ISA_XSIMD_ARCH xsimd::sse4_1
#elif defined(__SSSE3__)
#define HINGE_ISA_NAMESPACE isa_ssse3
#define HINGE_ISA_XSIMD_ARCH xsimd::ssse3
#elif defined(__SSE3__)
#define HINGE_ISA_NAMESPACE isa_sse3
#define HINGE_ISA_XSIMD_ARCH xsimd::sse3
#elif defined(__SSE2__)
#define HINGE_ISA_NAMESPACE isa_sse2
#define HINGE_ISA_XSIMD_ARCH xsimd::sse2
#else
// Another architecture family (NEON, ...): one namespace; xsimd's default arch decides the code.
#define HINGE_ISA_NAMESPACE isa_default
#define HINGE_ISA_XSIMD_ARCH xsimd::default_arch
#endif

// HINGE_ISA_XSIMD_ARCH must stay xsimd's default arch for these flags: kernels/simd.hpp checks it.
