#pragma once
// Contract violations on the hot path: no exception may leave a training step, so a violated
// precondition (an out-of-range label, say) prints what was wrong and aborts.
#include <cstddef>
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

// @pre 1 <= rows <= Batch, for every public pass over the first `rows` samples of a workspace
// sized for Batch. Checked by the runtime front end (runtime/, analysis/) before any kernel runs:
// the kernels trust their counts, so rows > Batch would write past the workspace and rows = 0
// would make a mean of nothing (NaN). `what` names the function and the rule, e.g.
// "trainer::step: rows must be in 1..batch size"; the message adds the value and the batch size.
template <std::size_t Batch>
inline void expect_rows(std::size_t rows, const char* what) noexcept {
    if (rows == 0 || rows > Batch) [[unlikely]]
        contract_violation(what, rows, Batch);
}

}  // namespace hinge::detail::inline HINGE_ISA_NAMESPACE
