#pragma once
// Shared by every benchmark: the measured FP32 peak, FLOP/s counters, a main() with defaults, and
// the summary table (median, spread, GFLOP/s, % of peak, time ratio hinge/peer per workload).
//
// Naming (Blazemark style): every benchmark is "<workload>/<implementation>",
// e.g. "mlp_64_128_128_10_batch1/hinge", ".../eigen" and ".../libtorch". The table pairs rows by
// workload: one ratio column per peer. bench/table.py merges the JSON of several binaries and
// compilers into one table with the same columns.
//
// Peers are compiled in when found: HINGE_HAVE_EIGEN, HINGE_HAVE_LIBTORCH (set by
// bench/CMakeLists.txt). Without libtorch, HINGE_LIBTORCH_ABSENT says why, and the binary prints it.
//
// Each bench file defines `void register_benchmarks()` and `void verify()` and ends with
// HINGE_BENCH_MAIN(). Defaults added when not given on the command line:
//   --benchmark_repetitions=9            (Google Benchmark 1.7.1 computes medians only then)
//   --benchmark_display_aggregates_only=true  (the console shows aggregates; --benchmark_out
//                                         JSON keeps every repetition as well as the aggregates)
//   --benchmark_enable_random_interleaving=true  (the repetitions of all benchmarks run in a
//                                         random order, so a load that comes and goes hits
//                                         hinge and its peer alike instead of one of them)
// Pass --benchmark_out=x.json --benchmark_out_format=json to keep the raw numbers: the medians
// ("aggregate_name": "median", "cpu_time") give the ratios, and the "FLOP/s" counter the rates.
//
// Time is the process's CPU time (Google Benchmark's default), not wall-clock time: on a shared
// machine a wall clock also counts the time the benchmark waited for the CPU (nice and taskset
// do not help against processes in other cgroups). On an idle machine the two agree.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <hinge/kernels/simd.hpp>  // xsimd, and hinge::kernels::multiply_add

#if HINGE_HAVE_LIBTORCH
#include <ATen/Parallel.h>
#include <dlfcn.h>
#endif
#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif

namespace hinge_bench {

// ---- failure ------------------------------------------------------------------------------------

[[noreturn]] inline void fail(const std::string& message) {
    std::fprintf(stderr, "\nBENCHMARK VERIFICATION FAILED: %s\n", message.c_str());
    std::fflush(stderr);
    std::abort();
}

// The implementations compiled into this binary, for messages.
inline const char* peers_description() {
#if HINGE_HAVE_EIGEN && HINGE_HAVE_LIBTORCH
    return "hinge, Eigen and libtorch";
#elif HINGE_HAVE_EIGEN
    return "hinge and Eigen";
#elif HINGE_HAVE_LIBTORCH
    return "hinge and libtorch";
#else
    return "hinge";
#endif
}

// The peers a hinge row is compared with, in column order.
inline constexpr const char* peer_names[] = {"eigen", "libtorch"};

// ---- FLOP counts and registration ------------------------------------------------------------------

// FLOPs per iteration of every registered benchmark, by full name; the table reads it.
inline std::map<std::string, double>& flops_per_iteration() {
    static std::map<std::string, double> table;
    return table;
}

// Registration order, which the table follows (runs may be interleaved at random).
inline std::vector<std::string>& registration_order() {
    static std::vector<std::string> names;
    return names;
}

// The statistics the table needs besides Google Benchmark's mean/median/stddev/cv.
inline double statistic_min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
inline double statistic_max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

// Registers `fn` as `name` (workload/implementation). CPU time is used for the iteration count,
// the times and the rate counters alike, so the console, the JSON and the table agree.
template <class Fn>
benchmark::internal::Benchmark* add(const std::string& name, double flops, Fn&& fn) {
    flops_per_iteration()[name] = flops;
    registration_order().push_back(name);
    return benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn))
        ->Unit(benchmark::kMicrosecond)
        ->ComputeStatistics("min", statistic_min)
        ->ComputeStatistics("max", statistic_max);
}

// FLOP/s as Google Benchmark computes it: flops * iterations / time.
inline void set_flops(benchmark::State& state, double flops) {
    state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- measured peak -------------------------------------------------------------------------------

// Single-core FP32 peak of the build's default xsimd batch (the type hinge's kernels use):
// 12 independent FMA chains, enough to cover latency x throughput (4 cycles x 2 pipes = 8 on
// Zen 3/4 and Skylake-class cores). acc = acc * a + b with a = 1 - 2^-20, b = 2^-20 converges to
// 1, so values stay normal forever. Two FLOPs per lane per FMA, through the same multiply_add as
// hinge's kernels (xsimd::fma is a multiply and an add for AVX-512 in xsimd 8.1, which clang does
// not fuse: half the peak). Without FMA in the flags (SSE2) it is a multiply and an add, still
// two FLOPs: then this is that build's peak.
inline constexpr const char* peak_name = "peak_fma/float";

inline constexpr std::size_t peak_chains = 12;
inline constexpr std::size_t peak_steps = 512;  // FMAs per chain per iteration
inline constexpr double peak_flops = 2.0 * peak_steps * peak_chains * xsimd::batch<float>::size;

inline void peak_fma(benchmark::State& state) {
    using batch = xsimd::batch<float>;
    constexpr std::size_t chains = peak_chains;
    constexpr std::size_t steps = peak_steps;
    batch acc[chains];
    for (std::size_t k = 0; k < chains; ++k) acc[k] = batch(1.0f + static_cast<float>(k) * 0x1p-10f);
    batch a(1.0f - 0x1p-20f);
    batch b(0x1p-20f);
    for (auto _ : state) {
        benchmark::DoNotOptimize(a);  // opaque: no folding across iterations
        benchmark::DoNotOptimize(b);
        for (std::size_t s = 0; s < steps; ++s) {
            for (std::size_t k = 0; k < chains; ++k) acc[k] = hinge::kernels::multiply_add(acc[k], a, b);
        }
    }
    float sink = 0;
    for (std::size_t k = 0; k < chains; ++k) sink += acc[k].get(0);
    benchmark::DoNotOptimize(sink);
    if (!(sink > 0.0f && sink < 2.0f * chains)) state.SkipWithError("peak_fma: accumulators left [0, 2]");
    set_flops(state, peak_flops);
}

inline void register_peak() { add(peak_name, peak_flops, peak_fma); }

// ---- what built this binary ---------------------------------------------------------------------

inline const char* compiler_name() {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "g++ " __VERSION__;
#else
    return "unknown compiler";
#endif
}

// ---- recording reporter and the table ----------------------------------------------------------

struct summary {
    double median = 0;  // seconds per iteration (CPU time; wall-clock time for UseRealTime benchmarks)
    double min = 0;
    double max = 0;
    std::size_t repetitions = 0;
};

// Forwards everything to the display reporter chosen by --benchmark_format and keeps a copy of
// every run, so that the table can be printed after RunSpecifiedBenchmarks.
class recording_reporter : public benchmark::BenchmarkReporter {
public:
    explicit recording_reporter(benchmark::BenchmarkReporter* display) : display_(display) {}

    bool ReportContext(const Context& context) override { return display_->ReportContext(context); }
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            if (run.error_occurred) continue;
            // Wall-clock time for the benchmarks registered with UseRealTime (several threads).
            const double seconds = (run.run_name.time_type == "real_time" ? run.GetAdjustedRealTime()
                                                                          : run.GetAdjustedCPUTime()) /
                                   benchmark::GetTimeUnitMultiplier(run.time_unit);
            entry& e = entries_[run.run_name.function_name];
            if (run.run_type == Run::RT_Iteration) {
                e.samples.push_back(seconds);
            } else if (run.aggregate_name == "median") {
                e.median = seconds;
            } else if (run.aggregate_name == "min") {
                e.min = seconds;
            } else if (run.aggregate_name == "max") {
                e.max = seconds;
            }
            if (std::find(order_.begin(), order_.end(), run.run_name.function_name) == order_.end())
                order_.push_back(run.run_name.function_name);
        }
        display_->ReportRuns(runs);
    }
    void Finalize() override { display_->Finalize(); }

    // Median, min and max per benchmark: from the aggregates when Google Benchmark computed them
    // (repetitions > 1), else from the individual runs this reporter saw.
    std::vector<std::pair<std::string, summary>> summaries() const {
        std::vector<std::pair<std::string, summary>> out;
        std::vector<std::string> order;
        for (const std::string& name : registration_order())
            if (entries_.count(name)) order.push_back(name);
        for (const std::string& name : order_)
            if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
        for (const std::string& name : order) {
            const entry& e = entries_.at(name);
            summary s;
            if (e.median > 0) {
                s.median = e.median;
                s.min = e.min > 0 ? e.min : e.median;
                s.max = e.max > 0 ? e.max : e.median;
                s.repetitions = e.samples.empty() ? 0 : e.samples.size();
            } else if (!e.samples.empty()) {
                std::vector<double> v = e.samples;
                std::sort(v.begin(), v.end());
                const std::size_t n = v.size();
                s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
                s.min = v.front();
                s.max = v.back();
                s.repetitions = n;
            } else {
                continue;
            }
            out.emplace_back(name, s);
        }
        return out;
    }

private:
    struct entry {
        std::vector<double> samples;
        double median = 0, min = 0, max = 0;
    };
    benchmark::BenchmarkReporter* display_;
    std::map<std::string, entry> entries_;
    std::vector<std::string> order_;
};

// For failure messages: enough digits to see a last-bit difference.
inline std::string number(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.9g", value);
    return buffer;
}

inline std::string format_time(double seconds) {
    char buffer[32];
    if (seconds < 1e-6)
        std::snprintf(buffer, sizeof buffer, "%.1f ns", seconds * 1e9);
    else if (seconds < 1e-3)
        std::snprintf(buffer, sizeof buffer, "%.3f us", seconds * 1e6);
    else
        std::snprintf(buffer, sizeof buffer, "%.3f ms", seconds * 1e3);
    return buffer;
}

// The table: one row per benchmark. spread = (max - min) / median over the repetitions;
// % peak = GFLOP/s / measured peak of the same run (peak_fma/float, its fastest repetition);
// hinge/<peer> = median time of <workload>/hinge (or hinge_*) over median time of <workload>/<peer>
// (< 1: hinge is faster).
inline void print_table(std::FILE* out, const recording_reporter& reporter) {
    const auto rows = reporter.summaries();
    if (rows.empty()) return;
    const auto& flops = flops_per_iteration();
    auto split = [](const std::string& name) {
        const std::size_t slash = name.rfind('/');
        if (slash == std::string::npos) return std::pair<std::string, std::string>(name, "");
        return std::pair<std::string, std::string>(name.substr(0, slash), name.substr(slash + 1));
    };
    std::map<std::string, double> median_of;
    double peak = 0;
    for (const auto& [name, s] : rows) {
        median_of[name] = s.median;
        // The peak is a capacity: interference only lowers it, so take the fastest repetition.
        if (name == peak_name && flops.count(name)) peak = flops.at(name) / s.min;
    }
    std::size_t workload_width = 8, impl_width = 8;
    for (const auto& [name, s] : rows) {
        workload_width = std::max(workload_width, split(name).first.size());
        impl_width = std::max(impl_width, split(name).second.size());
    }

    std::fprintf(out, "\nSummary (%s, %s kernels; medians of CPU time, of wall-clock time for *_threads<N> rows; %s)\n", compiler_name(),
                 xsimd::default_arch::name(),
                 peak > 0 ? "% peak relative to the fastest peak_fma/float repetition of this run"
                          : "no peak_fma/float in this run");
    std::fprintf(out, "%-*s  %-*s %12s %8s %10s %8s %12s %15s\n", static_cast<int>(workload_width), "workload",
                 static_cast<int>(impl_width), "impl", "median", "spread", "GFLOP/s", "% peak", "hinge/eigen", "hinge/libtorch");
    for (const auto& [name, s] : rows) {
        const auto [workload, impl] = split(name);
        const double f = flops.count(name) ? flops.at(name) : 0;
        const double gflops = f > 0 ? f / s.median * 1e-9 : 0;
        char spread[16], rate[16], percent[16], ratio[2][16];
        std::snprintf(spread, sizeof spread, "%.1f%%", 100.0 * (s.max - s.min) / s.median);
        std::snprintf(rate, sizeof rate, f > 0 ? "%.2f" : "-", gflops);
        std::snprintf(percent, sizeof percent, f > 0 && peak > 0 ? "%.1f" : "-", 100.0 * gflops * 1e9 / peak);
        if (name == peak_name && peak > 0) std::snprintf(rate, sizeof rate, "%.2f", gflops);
        for (std::size_t p = 0; p < 2; ++p) {
            const std::string peer = workload + "/" + peer_names[p];
            std::snprintf(ratio[p], sizeof ratio[p], "-");
            if (impl.rfind("hinge", 0) == 0 && median_of.count(peer))
                std::snprintf(ratio[p], sizeof ratio[p], "%.3f", s.median / median_of.at(peer));
        }
        std::fprintf(out, "%-*s  %-*s %12s %8s %10s %8s %12s %15s\n", static_cast<int>(workload_width),
                     workload.c_str(), static_cast<int>(impl_width), impl.c_str(), format_time(s.median).c_str(), spread, rate, percent, ratio[0],
                     ratio[1]);
    }
    std::fflush(out);
}

// ---- threads of the peers --------------------------------------------------------------------------

#if HINGE_HAVE_LIBTORCH
// Debian's libtorch calls the system BLAS (libblas.so.3), which with libopenblas0-pthread is
// OpenBLAS with its own thread pool, one thread per CPU, which at::set_num_threads does not
// reach; CPU time would not count those threads. Its thread count is set here when that symbol
// exists (the reference BLAS has no threads).
inline void set_blas_threads(int n) {
    using setter = void (*)(int);
    if (void* f = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) reinterpret_cast<setter>(f)(n);
}
#endif

// The peers' thread counts: Eigen's products (OpenMP, when the benchmarks are built with it),
// libtorch's intra-op pool and its BLAS. main() sets one; the _threads<N> rows of
// bench/training_step.hpp set N for as long as they run.
inline void set_peer_threads([[maybe_unused]] int n) {
#if HINGE_HAVE_EIGEN
    Eigen::setNbThreads(n);
#endif
#if HINGE_HAVE_LIBTORCH
    at::set_num_threads(n);
    set_blas_threads(n);
#endif
}

// ---- main ----------------------------------------------------------------------------------------

inline bool has_flag(int argc, char** argv, std::string_view flag) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        if (arg.substr(0, flag.size()) == flag) return true;
    }
    return false;
}

// after_table: a bench file's own table, printed after the summary (bench/nam.cpp: per sample).
using table_printer = void (*)(std::FILE*, const recording_reporter&);

inline int main(int argc, char** argv, void (*register_benchmarks)(), void (*verify)(),
                table_printer after_table = nullptr) {
    std::vector<char*> args(argv, argv + argc);
    std::string repetitions = "--benchmark_repetitions=9";
    std::string aggregates = "--benchmark_display_aggregates_only=true";
    std::string interleave = "--benchmark_enable_random_interleaving=true";
    if (!has_flag(argc, argv, "--benchmark_repetitions")) args.push_back(repetitions.data());
    if (!has_flag(argc, argv, "--benchmark_display_aggregates_only") &&
        !has_flag(argc, argv, "--benchmark_report_aggregates_only"))
        args.push_back(aggregates.data());
    if (!has_flag(argc, argv, "--benchmark_enable_random_interleaving")) args.push_back(interleave.data());
    // The table goes where the console output goes, unless that is machine-readable.
    const bool console = !has_flag(argc, argv, "--benchmark_format") || has_flag(argc, argv, "--benchmark_format=console");
    args.push_back(nullptr);
    int count = static_cast<int>(args.size()) - 1;
    benchmark::Initialize(&count, args.data());
    if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

    // Recorded in the JSON "context" and printed in the console header.
    benchmark::AddCustomContext("compiler", compiler_name());
    benchmark::AddCustomContext("simd", std::string(xsimd::default_arch::name()) + ", " +
                                            std::to_string(xsimd::batch<float>::size) + " floats per batch");

    // One thread for Eigen and libtorch, as for hinge: the comparison is per core.
    set_peer_threads(1);
#if HINGE_HAVE_LIBTORCH
    benchmark::AddCustomContext("libtorch", "one thread");
#elif defined(HINGE_LIBTORCH_ABSENT)
    std::fprintf(stderr, "libtorch: not in this binary: %s\n", HINGE_LIBTORCH_ABSENT);
    benchmark::AddCustomContext("libtorch", HINGE_LIBTORCH_ABSENT);
#endif
    verify();  // aborts with a message if an implementation computes the wrong thing
    register_peak();
    register_benchmarks();

    recording_reporter reporter(benchmark::CreateDefaultDisplayReporter());
    benchmark::RunSpecifiedBenchmarks(&reporter);
    print_table(console ? stdout : stderr, reporter);
    if (after_table) after_table(console ? stdout : stderr, reporter);
    benchmark::Shutdown();
    return 0;
}

}  // namespace hinge_bench

#define HINGE_BENCH_MAIN()                                                                   \
    int main(int argc, char** argv) {                                                       \
        return ::hinge_bench::main(argc, argv, &register_benchmarks, &verify);               \
    }
