#pragma once
// One member's part of a parallel pass: `part` of `parts` (runtime/threads.hpp runs a pass on
// every member of a thread team, each with its own work_share). Kernels take one and do only
// their slice of the work; the default, {0, 1}, is the whole of it, so a kernel called without
// one does what it did before teams existed.
#include <cstddef>

namespace hinge {

struct work_share {
    std::size_t part = 0;
    std::size_t parts = 1;

    // This part's slice [begin, end) of `units` items: contiguous, in part order, sizes that
    // differ by at most one. The same (units, parts) always gives the same slices, which is what
    // makes a parallel pass deterministic for a given team size.
    constexpr std::size_t begin(std::size_t units) const noexcept { return units * part / parts; }
    constexpr std::size_t end(std::size_t units) const noexcept { return units * (part + 1) / parts; }
    constexpr bool whole() const noexcept { return parts == 1; }
};

// Which dimension of a product C = A B a parallel pass splits: C's rows (A's rows; for a forward
// product, the batch) or C's panels of 64-byte columns (B's panels; the output units). Every
// element of C is still computed by one member with the serial order of its depth sum, so both
// splits give the serial result bit for bit; they differ in what each member reads (a row split
// reads all of B, a panel split all of A) and in how many members can take part.
enum class product_split : unsigned char { rows, panels };

}  // namespace hinge
