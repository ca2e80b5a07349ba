#pragma once
// Latency distributions for the real-time workloads (batch-1 inference, streams): every call timed
// on its own between two serialised TSC reads (lfence; rdtsc) into a histogram of cycles, reported
// as the counters p50_ns, p99_ns, p999_ns, max_ns and p999_over_p50 (Google Benchmark JSON). The
// median cost of an empty timed region (timer_overhead_ns, also a counter) is subtracted. A call
// timed alone cannot overlap the next one, so these percentiles are latencies; a workload's plain
// median is the cost per call in a run of calls, where the processor overlaps consecutive calls.
// Optionally inside a hinge::flush_denormals_guard (FTZ + DAZ), to show what denormals cost.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <benchmark/benchmark.h>
#include <hinge/runtime/denormals.hpp>
#include <x86intrin.h>

namespace hinge_bench::latency {

// TSC ticks per nanosecond, measured once against steady_clock over 20 ms.
inline double ticks_per_ns() {
    static const double value = [] {
        const auto start = std::chrono::steady_clock::now();
        const std::uint64_t t0 = __rdtsc();
        while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(20)) {
        }
        const std::uint64_t t1 = __rdtsc();
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        return double(t1 - t0) / ns;
    }();
    return value;
}

// A histogram of cycles per timed region, 1-cycle buckets up to 64K cycles (24 us at 2.7 GHz),
// one overflow bucket, and the largest value seen: exact percentiles at cycle resolution without
// storing every call.
struct cycle_histogram {
    static constexpr std::size_t buckets = 1 << 16;
    std::vector<std::uint32_t> counts = std::vector<std::uint32_t>(buckets + 1, 0);
    std::uint64_t total = 0;
    std::uint64_t largest = 0;
    void add(std::uint64_t cycles) {
        ++counts[std::min<std::uint64_t>(cycles, buckets)];
        ++total;
        largest = std::max(largest, cycles);
    }
    double percentile(double p) const {
        const auto rank = static_cast<std::uint64_t>(std::ceil(p * double(total)));
        std::uint64_t seen = 0;
        for (std::size_t c = 0; c <= buckets; ++c) {
            seen += counts[c];
            if (seen >= rank && seen > 0) return double(c);
        }
        return double(buckets);
    }
};

template <class Call>
[[gnu::always_inline]] inline std::uint64_t timed(Call& call, std::size_t k) {
    _mm_lfence();
    const std::uint64_t t0 = __rdtsc();
    _mm_lfence();
    call(k);
    _mm_lfence();
    const std::uint64_t t1 = __rdtsc();
    _mm_lfence();
    return t1 - t0;
}

// Median cycles of an empty timed region.
inline double timer_overhead() {
    static const double value = [] {
        cycle_histogram h;
        auto nothing = [](std::size_t k) { benchmark::DoNotOptimize(k); };
        for (int n = 0; n < 200000; ++n) h.add(timed(nothing, 0));
        return h.percentile(0.5);
    }();
    return value;
}

// Times call(k) once per iteration, k cycling through 0 .. inputs - 1, and sets the counters.
template <class Call>
void measure(benchmark::State& state, Call call, std::size_t inputs, bool flush_denormals) {
    std::optional<hinge::flush_denormals_guard> guard;
    if (flush_denormals) guard.emplace();
    cycle_histogram h;
    const double overhead = timer_overhead();
    std::size_t k = 0;
    for (auto _ : state) {
        h.add(timed(call, k));
        k = k + 1 == inputs ? 0 : k + 1;
    }
    const double ns = 1.0 / ticks_per_ns();
    auto net_ns = [&](double cycles) { return std::max(0.0, cycles - overhead) * ns; };
    state.counters["p50_ns"] = net_ns(h.percentile(0.5));
    state.counters["p99_ns"] = net_ns(h.percentile(0.99));
    state.counters["p999_ns"] = net_ns(h.percentile(0.999));
    state.counters["max_ns"] = net_ns(double(h.largest));
    state.counters["p999_over_p50"] =
        net_ns(h.percentile(0.5)) > 0 ? net_ns(h.percentile(0.999)) / net_ns(h.percentile(0.5)) : 0;
    state.counters["timer_overhead_ns"] = overhead * ns;
}

}  // namespace hinge_bench::latency
