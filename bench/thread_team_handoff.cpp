// The cost of one hand-off of a hinge::thread_team (runtime/threads.hpp): run() of a part that
// does nothing, so the time is publishing the pass, the workers seeing it, and the caller seeing
// them finish. A training step makes a fixed number of hand-offs (the "handoffs" counter of the
// *_threads<N>/hinge rows of the training workloads), so hand-off x count is what a team adds
// to a step. Timed in wall-clock time (several threads).
//
//   spinning   back-to-back passes: the workers are still spinning when the next pass comes,
//              as between the products of a step
//   asleep     a pause of 2 ms before every pass (not timed), longer than the spin budget: the
//              workers have blocked in the kernel and must be woken, as at the first product of a
//              step that follows a long pause (data loading, evaluation)
// Teams of 1 (no worker: a direct call), 2 (one per core here) and 4 (more threads than cores).
#include <chrono>
#include <cstddef>
#include <thread>

#include <hinge/runtime/threads.hpp>

#include "common.hpp"

namespace {

void spinning(benchmark::State& state, std::size_t threads) {
    hinge::thread_team team(threads);
    std::size_t parts = 0;
    for (auto _ : state) {
        team.run([&](hinge::work_share share) {
            if (share.part == 0) ++parts;
        });
        benchmark::DoNotOptimize(parts);
    }
}

void asleep(benchmark::State& state, std::size_t threads) {
    hinge::thread_team team(threads);
    std::size_t parts = 0;
    for (auto _ : state) {
        state.PauseTiming();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        state.ResumeTiming();
        team.run([&](hinge::work_share share) {
            if (share.part == 0) ++parts;
        });
        benchmark::DoNotOptimize(parts);
    }
}

void register_benchmarks() {
    for (std::size_t n : {1, 2, 4}) {
        const std::string suffix = "/threads" + std::to_string(n);
        hinge_bench::add("thread_team_handoff_spinning" + suffix, 0,
                         [n](benchmark::State& state) { spinning(state, n); })
            ->UseRealTime()
            ->Unit(benchmark::kNanosecond);
        hinge_bench::add("thread_team_handoff_asleep" + suffix, 0, [n](benchmark::State& state) { asleep(state, n); })
            ->UseRealTime()
            ->Unit(benchmark::kNanosecond)
            ->Iterations(200);
    }
}

// Every part of a pass runs once, on as many distinct threads as the team has members.
void verify() {
    for (std::size_t n : {1, 2, 4}) {
        hinge::thread_team team(n);
        std::size_t runs[4] = {};
        std::thread::id ids[4];
        team.run([&](hinge::work_share share) {
            ++runs[share.part];
            ids[share.part] = std::this_thread::get_id();
        });
        for (std::size_t p = 0; p < n; ++p) {
            if (runs[p] != 1) hinge_bench::fail("thread_team: a part did not run exactly once");
            for (std::size_t q = 0; q < p; ++q)
                if (ids[p] == ids[q]) hinge_bench::fail("thread_team: two parts ran on the same thread");
        }
    }
}

}  // namespace

HINGE_BENCH_MAIN()
