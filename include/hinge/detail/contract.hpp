#pragma once
// Contract violations on the hot path: no exception may leave a training step, so a violated
// precondition (an out-of-range label, say) prints what was wrong and aborts.
#include <cstdio>
#include <cstdlib>

#include <hinge/detail/isa_namespace.hpp>

// In the instruction-set namespace like the kernels that call it: an out-of-line copy compiled for
// AVX2 must not stand in for the SSE2 build's (tests/runtime/dispatch_symbols.sh).
namespace hinge::detail::inline HINGE_ISA_NAMESPACE {

[[noreturn]] inline void contract_violation(const char* what, unsigned long long value,
                                            unsigned long long limit) noexcept {
    std::fprintf(stderr, "hinge: contract violation: %s (got %llu, limit %llu)\n", what, value, limit);
    std::abort();
}

}  // namespace hinge::detail::inline HINGE_ISA_NAMESPACE
