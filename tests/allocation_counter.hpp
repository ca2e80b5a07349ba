#pragma once
// The allocation counter of the test executable: every operator new and, outside sanitizer
// builds, every malloc-family call, counted by the replacements in tests/no_allocation.cpp.
#include <cstddef>

std::size_t hinge_test_allocation_count();

// Allocations made while f runs. Check the result after the scope: a failing BOOST_TEST allocates.
template <class F>
std::size_t hinge_test_allocations_during(F&& f) {
    const std::size_t before = hinge_test_allocation_count();
    f();
    return hinge_test_allocation_count() - before;
}
