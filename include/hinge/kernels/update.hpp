#pragma once
// Element-wise updates over a whole parameter block, one vectorised loop each.
#include <cstddef>

#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// p -= rate * g.  @pre size is a multiple of the panel width, both pointers 64-byte aligned
// (true of every parameter block).
template <class T>
inline void subtract_scaled(T* p, const T* g, T rate, std::size_t size) noexcept {
    using V = vector<T>;
    const V r(rate);
    for (std::size_t i = 0; i < size; i += V::size) {
        const V updated = subtract_product(r, V::load_aligned(g + i), V::load_aligned(p + i));
        updated.store_aligned(p + i);
    }
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
