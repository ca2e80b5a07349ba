// Every operator new of a NAM test executable, counted (tests/nam/counted_new.hpp).
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "counted_new.hpp"

// Every operator new and delete of this executable, counted, to show that a stream step allocates
// and frees nothing. The plain and aligned forms (the nothrow ones call them), on malloc, and every
// delete on free, so that a sanitizer sees matching pairs.
namespace {
std::atomic<std::size_t> allocations{0}, frees{0};
void* counted(std::size_t size, std::size_t alignment) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    void* p = nullptr;
    if (alignment <= alignof(std::max_align_t)) p = std::malloc(size ? size : 1);
    else if (posix_memalign(&p, alignment, size ? size : 1) != 0) p = nullptr;
    if (!p) throw std::bad_alloc();
    return p;
}
void release(void* p) noexcept {
    if (p) frees.fetch_add(1, std::memory_order_relaxed);
    std::free(p);
}
}  // namespace
void* operator new(std::size_t size) { return counted(size, 0); }
void* operator new[](std::size_t size) { return counted(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }

std::size_t hinge_nam_test::allocation_count() noexcept { return allocations.load(); }
std::size_t hinge_nam_test::free_count() noexcept { return frees.load(); }
