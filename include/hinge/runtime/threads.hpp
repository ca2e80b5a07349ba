#pragma once
// A team of threads, created once, that runs the passes of a training step or of a batched
// forward pass in parallel:
//
//     hinge::thread_team team{2};               // the caller + 1 worker, started here
//     hinge::trainer<...> train{params};
//     train.use(team);                          // steps now split their products over 2 threads
//     hinge::forward(params, ws, x, rows, team);
//
// Why a team of our own rather than OpenMP or a task pool: a step of a small network lasts tens of
// microseconds and holds a dozen dependent products, so the hand-off must cost well under a
// microsecond and must neither allocate nor throw (a step is real-time code). Here a pass is one
// function pointer and one context pointer published with one atomic increment; the caller runs
// part 0 itself and then waits for the others. Waiting spins first (a worker that is already
// spinning starts within ~100 ns) and then blocks in the kernel (std::atomic::wait, a futex on
// Linux), so idle workers do not burn a core between epochs or when the team has more threads
// than the machine has cores.
//
// Rules: a team serves one caller at a time (two threads calling run() on one team at once is a
// contract violation: message and abort); run() is not re-entrant (a part may not call run() on
// its own team). Size 1 is a team with no worker: run() calls the function directly, so a caller
// that never asked for threads runs exactly the code it ran before teams existed.
// Construction and destruction start and join the workers; they may throw (std::system_error,
// std::bad_alloc) and are not for a hot path. Everything else is noexcept and allocation-free.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include <hinge/core/work_share.hpp>
#include <hinge/detail/isa_namespace.hpp>

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define HINGE_DETAIL_TEAM_MXCSR 1
#else
#define HINGE_DETAIL_TEAM_MXCSR 0
#endif

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace hinge {

namespace detail::inline HINGE_ISA_NAMESPACE {
// Names the instruction set a function is compiled for, as a template argument (below).
struct isa_tag {};
}  // namespace detail::inline HINGE_ISA_NAMESPACE

enum class thread_pinning : unsigned char {
    none,  // the scheduler places the workers
    cores  // worker w runs only on the (w+1)-th CPU this process may use (modulo their count);
           // the caller's own thread is left where it is
};

struct thread_team_options {
    std::size_t threads = 1;  // members, the caller included; 0 means std::thread::hardware_concurrency()
    thread_pinning pinning = thread_pinning::none;
    // How long a waiting thread polls before it blocks, in pause instructions (~10-40 ns each on
    // current x86; the default is roughly 50-200 us, a few steps of a small network). A team with
    // more members than the CPUs the process may use never spins: a spinning member would hold a
    // CPU that a working member is waiting for (measured: ~0.9 ms per hand-off instead of ~0.2 us
    // for 4 members on 2 CPUs).
    std::uint32_t spin = 1u << 13;
};

class thread_team {
public:
    // Per-member scratch for the partial column sums of a split reduction (runtime/parallel.hpp):
    // bytes per member, 64-byte aligned, allocated here and never again.
    static constexpr std::size_t member_scratch_bytes = 64 * 1024;

    explicit thread_team(std::size_t threads = 1) : thread_team(thread_team_options{threads}) {}

    explicit thread_team(thread_team_options options)
        : size_(options.threads == 0 ? std::max<std::size_t>(1, std::thread::hardware_concurrency()) : options.threads),
          spin_(size_ > usable_cpus() ? 0 : options.spin),
          scratch_(new scratch_block[size_]) {
        workers_.reserve(size_ - 1);
        try {
            for (std::size_t w = 1; w < size_; ++w) {
                workers_.emplace_back([this, w] { work(w); });
                if (options.pinning == thread_pinning::cores) pin(workers_.back(), w);
            }
        } catch (...) {
            stop();
            throw;
        }
    }

    thread_team(const thread_team&) = delete;
    thread_team& operator=(const thread_team&) = delete;

    // Joins the workers. They are idle (run() has returned), so this only wakes them to exit.
    ~thread_team() { stop(); }

    // Members, the caller included.
    std::size_t size() const noexcept { return size_; }

    // Calls f(work_share{part, size()}) once for every part: part 0 on the calling thread, the
    // others on the workers; returns when all have returned. The workers run with the caller's
    // floating-point control word (MXCSR: denormal flushing, rounding), so a part computes what
    // the caller would have. No allocation, no exception, no thread created.
    template <class F>
    void run(F&& f) noexcept {
        if (size_ == 1) {
            f(work_share{0, 1});
            return;
        }
        // Only this trampoline is per function: the hand-off below is one function for every pass
        // of every network (it was instantiated per lambda, 54 times in one test file).
        using Fn = std::remove_reference_t<F>;
        run_task([](void* context, work_share share) noexcept { (*static_cast<Fn*>(context))(share); },
                 const_cast<void*>(static_cast<const volatile void*>(std::addressof(f))));
    }

    // run() on a type-erased part: task(context, share) on every member. A template only so that
    // its name carries the instruction set (detail/isa_namespace.hpp): a compiler may emit it out
    // of line in every object, and objects built for different sets must not share one copy.
    template <class Isa = detail::isa_tag>
    void run_task(void (*task)(void*, work_share) noexcept, void* context) noexcept {
        if (busy_.exchange(true, std::memory_order_acquire)) [[unlikely]] {
            std::fputs("hinge: contract violation: thread_team::run called while the team is running a pass "
                       "(from another thread, or from inside one of its parts)\n",
                       stderr);
            std::abort();
        }
        task_ = task;
        context_ = context;
#if HINGE_DETAIL_TEAM_MXCSR
        control_word_ = _mm_getcsr();
#endif
        pending_.store(static_cast<std::uint32_t>(size_ - 1), std::memory_order_relaxed);
        // Publishes task_, context_ and control_word_. Sequentially consistent, as are the workers'
        // announcement and re-check in work(): either we see a sleeper and wake it, or it sees
        // this pass before it blocks.
        generation_.fetch_add(1, std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
        task(context, work_share{0, size_});
        // Join: spin, then block until the last worker has finished its part.
        std::uint32_t left = pending_.load(std::memory_order_acquire);
        for (std::uint32_t i = 0; left != 0 && i < spin_; ++i) {
            pause();
            left = pending_.load(std::memory_order_acquire);
        }
        while (left != 0) {
            pending_.wait(left, std::memory_order_acquire);
            left = pending_.load(std::memory_order_acquire);
        }
        busy_.store(false, std::memory_order_release);
    }

    // The scratch of member `part` (see member_scratch_bytes), for reductions that keep per-member
    // partial sums and add them in part order afterwards.
    void* member_scratch(std::size_t part) noexcept { return scratch_[part].bytes; }

    // Passes run so far (for tests and for measuring the hand-off).
    std::uint32_t passes() const noexcept { return generation_.load(std::memory_order_relaxed); }

private:
    struct alignas(64) scratch_block {
        unsigned char bytes[member_scratch_bytes];
    };

    static void pause() noexcept {
#if HINGE_DETAIL_TEAM_MXCSR
        _mm_pause();
#else
        std::this_thread::yield();
#endif
    }

    void work(std::size_t part) noexcept {
        std::uint32_t seen = 0;
        for (;;) {
            // Wait for a new pass: spin, then block.
            std::uint32_t now = generation_.load(std::memory_order_acquire);
            for (std::uint32_t i = 0; now == seen && i < spin_; ++i) {
                pause();
                now = generation_.load(std::memory_order_acquire);
            }
            while (now == seen) {
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                // Re-check after announcing ourselves: a pass published before the increment was
                // not followed by a notify that we could have missed otherwise.
                now = generation_.load(std::memory_order_seq_cst);
                if (now == seen) generation_.wait(seen, std::memory_order_acquire);
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
                now = generation_.load(std::memory_order_acquire);
            }
            seen = now;
            if (stopping_.load(std::memory_order_acquire)) return;
#if HINGE_DETAIL_TEAM_MXCSR
            if (_mm_getcsr() != control_word_) _mm_setcsr(control_word_);
#endif
            task_(context_, work_share{part, size_});
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
        }
    }

    void stop() noexcept {
        stopping_.store(true, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        for (std::thread& t : workers_)
            if (t.joinable()) t.join();
        workers_.clear();
    }

    static std::size_t usable_cpus() noexcept {
#if defined(__linux__)
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > 0)
            return static_cast<std::size_t>(CPU_COUNT(&allowed));
#endif
        return std::max(1u, std::thread::hardware_concurrency());
    }

    static void pin([[maybe_unused]] std::thread& t, [[maybe_unused]] std::size_t worker) noexcept {
#if defined(__linux__)
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
        const int count = CPU_COUNT(&allowed);
        if (count <= 0) return;
        int wanted = static_cast<int>(worker % static_cast<std::size_t>(count));
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (!CPU_ISSET(cpu, &allowed)) continue;
            if (wanted-- == 0) {
                cpu_set_t one;
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                pthread_setaffinity_np(t.native_handle(), sizeof one, &one);
                return;
            }
        }
#endif
    }

    std::size_t size_;
    std::uint32_t spin_;
    std::unique_ptr<scratch_block[]> scratch_;
    std::vector<std::thread> workers_;
    // Written by the caller before the release increment of generation_, read by the workers
    // after their acquire load of it.
    void (*task_)(void*, work_share) noexcept = nullptr;
    void* context_ = nullptr;
    unsigned control_word_ = 0;
    alignas(64) std::atomic<std::uint32_t> generation_{0};
    std::atomic<std::uint32_t> sleepers_{0};
    std::atomic<bool> stopping_{false};
    alignas(64) std::atomic<std::uint32_t> pending_{0};
    alignas(64) std::atomic<bool> busy_{false};
};

}  // namespace hinge

#undef HINGE_DETAIL_TEAM_MXCSR
