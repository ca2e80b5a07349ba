#pragma once
// Flush denormals to zero for the calling thread, for as long as a guard lives.
//
//     void audio_callback(const float* in, float* out) {
//         hinge::flush_denormals_guard guard;   // FTZ + DAZ on, this thread only
//         auto y = run(params, std::span<const float, 64>(in, 64));
//         ...
//     }                                           // the caller's previous mode is back
//
// Why: on x86, an operation whose input or result is denormal (|x| < 2^-126 for float) can take
// ~100 cycles instead of ~4. A decaying signal (a reverb tail, a control loop near equilibrium)
// pushes a network's activations into that range and a call's time grows by an order of
// magnitude, which a real-time caller sees as a missed deadline. FTZ (flush to zero) makes such
// results 0; DAZ (denormals are zero) reads such inputs as 0. The results differ from IEEE only
// for values below 2^-126, far below anything a float network resolves.
//
// MXCSR is per thread: the guard affects only the thread that constructs it, and must be
// destroyed on that thread (it is neither copyable nor movable). Threads started inside the
// scope inherit the mode. -ffast-math / -Ofast already set FTZ/DAZ for the whole process at
// start-up; the guard then changes nothing and restores the same state.
//
// On targets other than x86 with SSE the guard does nothing, and says so at compile time:
// flush_denormals_guard::active is false there (AArch64 has FPCR.FZ, not implemented here).
#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define HINGE_DETAIL_HAS_MXCSR 1
#else
#define HINGE_DETAIL_HAS_MXCSR 0
#endif

namespace hinge {

class flush_denormals_guard {
public:
    // True when the guard really sets FTZ/DAZ on this target (x86 with SSE).
    static constexpr bool active = HINGE_DETAIL_HAS_MXCSR != 0;

#if HINGE_DETAIL_HAS_MXCSR
    // MXCSR bit 15 is FTZ, bit 6 is DAZ (Intel SDM vol. 1, 10.2.3).
    static constexpr unsigned flush_to_zero_bit = 0x8000u;
    static constexpr unsigned denormals_are_zero_bit = 0x0040u;

    flush_denormals_guard() noexcept : saved_(_mm_getcsr()) {
        _mm_setcsr(saved_ | flush_to_zero_bit | denormals_are_zero_bit);
    }
    ~flush_denormals_guard() { _mm_setcsr(saved_); }
#else
    flush_denormals_guard() noexcept = default;
#endif

    flush_denormals_guard(const flush_denormals_guard&) = delete;
    flush_denormals_guard& operator=(const flush_denormals_guard&) = delete;

private:
#if HINGE_DETAIL_HAS_MXCSR
    unsigned saved_;
#endif
};

}  // namespace hinge

#undef HINGE_DETAIL_HAS_MXCSR
