#pragma once
// The one spelling of `#include <xsimd/xsimd.hpp>` in hinge (kernels/simd.hpp and
// runtime/dispatch.hpp use it), so that a compiler workaround for the SIMD headers lives once.
//
// g++ 12's avx512fintrin.h initialises its "undefined" vectors with themselves (`__m512i __Y = __Y;`,
// GCC bug 105593, fixed in g++ 13), and every AVX-512 intrinsic that passes one as its unused
// merge source (shifts, roundscale: xsimd's exp, ldexp, nearbyint) then warns -Wuninitialized or
// -Wmaybe-uninitialized wherever it is inlined: 80 warnings in the demo's build. The warning is
// in the compiler's header, not in hinge's code or yours; the region below silences exactly its
// lines. It works only if <immintrin.h> is first included here (include hinge before other SIMD
// headers in a g++ 12 AVX-512 build).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13 && defined(__AVX512F__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
#include <xsimd/xsimd.hpp>
