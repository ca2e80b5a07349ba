#pragma once
// The operator new and delete counts of a NAM test executable (tests/nam/counted_new.cpp replaces
// every operator new and delete of the executable with a counted one), to show that a stream step
// allocates and frees nothing.
#include <cstddef>

namespace hinge_nam_test {
std::size_t allocation_count() noexcept;
std::size_t free_count() noexcept;  // operator delete of a non-null pointer
}  // namespace hinge_nam_test
