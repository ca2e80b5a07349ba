// The allocation test's shim (run_test.cmake): preloaded into the host (LD_PRELOAD), it replaces
// every allocation function of the C and C++ libraries and counts the calls made while the
// plugin's run() is active. The plugin says when that is through its weak hook,
// hinge_lv2_run_hook, which only this library defines. At exit it writes the counts to the file
// named by HINGE_LV2_SHIM_REPORT, one "name value" per line, for check.cpp to judge.
//
// The counts outside run() are written too: they show that each replacement was really in use
// (the plugin's instantiate calls operator new, the host calls malloc), so that no allocation
// inside run() cannot mean "nothing was looking". glibc supports replacing malloc this way; the
// real allocator is reached through its __libc_* entry points. Not for sanitizer builds, whose
// runtimes replace malloc themselves.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>

#include <fcntl.h>
#include <unistd.h>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void __libc_free(void* p);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace {

std::atomic<long> run_depth{0};          // > 0 while run() is active (on any thread: conservative)
std::atomic<long> run_enters{0}, run_exits{0}, unbalanced{0};
std::atomic<long> in_run_allocations{0}, in_run_frees{0};
std::atomic<long> c_allocations{0}, cxx_allocations{0};  // every call, in run() or not

void count_c() noexcept {
    c_allocations.fetch_add(1, std::memory_order_relaxed);
    if (run_depth.load(std::memory_order_relaxed) > 0) in_run_allocations.fetch_add(1, std::memory_order_relaxed);
}
void count_cxx() noexcept {
    cxx_allocations.fetch_add(1, std::memory_order_relaxed);
    if (run_depth.load(std::memory_order_relaxed) > 0) in_run_allocations.fetch_add(1, std::memory_order_relaxed);
}
void count_free(void* p) noexcept {
    if (p && run_depth.load(std::memory_order_relaxed) > 0) in_run_frees.fetch_add(1, std::memory_order_relaxed);
}

void* aligned(std::size_t alignment, std::size_t size) noexcept {
    return __libc_memalign(alignment < alignof(std::max_align_t) ? alignof(std::max_align_t) : alignment, size);
}

void* cxx_new(std::size_t size) {
    count_cxx();
    void* p = __libc_malloc(size == 0 ? 1 : size);
    if (!p) throw std::bad_alloc();
    return p;
}
void* cxx_new_aligned(std::size_t size, std::align_val_t alignment) {
    count_cxx();
    void* p = aligned(static_cast<std::size_t>(alignment), size == 0 ? 1 : size);
    if (!p) throw std::bad_alloc();
    return p;
}
void cxx_delete(void* p) noexcept {
    count_free(p);
    __libc_free(p);
}

// Written at exit, after the host has freed the plugin: plain system calls, no stdio stream.
__attribute__((destructor)) void write_report() {
    const char* path = std::getenv("HINGE_LV2_SHIM_REPORT");
    if (!path) return;
    char text[512];
    const int n = std::snprintf(text, sizeof text,
                                "run_enters %ld\nrun_exits %ld\nunbalanced_hooks %ld\nallocations_in_run %ld\n"
                                "frees_in_run %ld\nc_allocations %ld\ncxx_allocations %ld\n",
                                run_enters.load(), run_exits.load(), unbalanced.load(), in_run_allocations.load(),
                                in_run_frees.load(), c_allocations.load(), cxx_allocations.load());
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || n <= 0) return;
    const ssize_t written = ::write(fd, text, static_cast<std::size_t>(n));
    static_cast<void>(written);  // check.cpp refuses a short report
    ::close(fd);
}

}  // namespace

extern "C" {

void hinge_lv2_run_hook(int entering) {
    if (entering) {
        run_enters.fetch_add(1, std::memory_order_relaxed);
        run_depth.fetch_add(1, std::memory_order_relaxed);
    } else {
        run_exits.fetch_add(1, std::memory_order_relaxed);
        if (run_depth.fetch_sub(1, std::memory_order_relaxed) <= 0) unbalanced.fetch_add(1, std::memory_order_relaxed);
    }
}

void* malloc(std::size_t size) noexcept {
    count_c();
    return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
    count_c();
    return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
    count_c();
    return __libc_realloc(p, size);
}
void* reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
    count_c();
    if (size != 0 && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return nullptr;
    }
    return __libc_realloc(p, count * size);
}
void free(void* p) noexcept {
    count_free(p);
    __libc_free(p);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
    count_c();
    return aligned(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    count_c();
    return aligned(alignment, size);
}
void* valloc(std::size_t size) noexcept {
    count_c();
    return aligned(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
    count_c();
    if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    void* p = aligned(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

}  // extern "C"

// The 8 forms of operator new and the 12 of operator delete.
void* operator new(std::size_t size) { return cxx_new(size); }
void* operator new[](std::size_t size) { return cxx_new(size); }
void* operator new(std::size_t size, std::align_val_t a) { return cxx_new_aligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return cxx_new_aligned(size, a); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    count_cxx();
    return __libc_malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    count_cxx();
    return __libc_malloc(size == 0 ? 1 : size);
}
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
    count_cxx();
    return aligned(static_cast<std::size_t>(a), size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
    count_cxx();
    return aligned(static_cast<std::size_t>(a), size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { cxx_delete(p); }
void operator delete[](void* p) noexcept { cxx_delete(p); }
void operator delete(void* p, std::size_t) noexcept { cxx_delete(p); }
void operator delete[](void* p, std::size_t) noexcept { cxx_delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { cxx_delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { cxx_delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { cxx_delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { cxx_delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { cxx_delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { cxx_delete(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { cxx_delete(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { cxx_delete(p); }
