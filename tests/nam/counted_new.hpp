#pragma once
// The operator new count of a NAM test executable (tests/nam/counted_new.cpp replaces every
// operator new of the executable with a counted one), to show that a stream step allocates
// nothing.
#include <cstddef>

namespace hinge_nam_test {
std::size_t allocation_count() noexcept;
}  // namespace hinge_nam_test
