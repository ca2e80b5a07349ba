#pragma once
// Contract violations on the hot path: no exception may leave a training step, so a violated
// precondition (an out-of-range label, say) prints what was wrong and aborts.
#include <cstdio>
#include <cstdlib>

namespace hinge::detail {

[[noreturn]] inline void contract_violation(const char* what, unsigned long long value,
                                            unsigned long long limit) noexcept {
    std::fprintf(stderr, "hinge: contract violation: %s (got %llu, limit %llu)\n", what, value, limit);
    std::abort();
}

}  // namespace hinge::detail
