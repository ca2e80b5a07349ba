// Runtime instruction-set dispatch (runtime/dispatch.hpp) at batch 1, for the three MLPs of the
// batch-1 workloads: "<workload>/hinge" is hinge::inference compiled with this build's flags
// (HINGE_ARCH_FLAGS, -march=native by default), "<workload>/dispatch_<arch>" is
// hinge::dispatched_inference forced to one arch. dispatch_fma3_avx2 / hinge is the cost of the
// indirect call (on an AVX2 machine both run the AVX2+FMA kernels); dispatch_sse2 / hinge is
// what a program that cannot assume AVX2 would lose without dispatch. Every implementation is
// checked against the double-precision reference of batch1_mlp.hpp before timing.
#include "batch1_mlp.hpp"
#include "dispatch/networks.hpp"

#include <hinge/runtime/dispatch.hpp>

namespace {

using hinge_bench::batch1::mlp;

const char* const archs[] = {"avx512bw", "fma3+avx2", "sse4.2", "sse2"};

std::string implementation_name(const char* arch) {
    std::string name = std::string("dispatch_") + arch;
    std::replace(name.begin(), name.end(), '+', '_');
    std::replace(name.begin(), name.end(), '.', '_');
    return name;
}

bool cpu_runs(const char* arch) {
    try {
        hinge::dispatched_inference<hinge_bench::dispatch::mlp<1, 16, 16, 1>> probe(arch);
        return true;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

template <class Workload>
void bench_dispatched(benchmark::State& state, const char* arch) {
    auto& f = Workload::shared();
    auto inference = std::make_unique<hinge::dispatched_inference<typename Workload::net>>(arch);
    std::size_t k = 0;
    for (auto _ : state) {
        const auto y = (*inference)(f.params, std::span<const float, Workload::widths[0]>(f.inputs[k]));
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
        k = (k + 1) % Workload::inputs_count;
    }
}

template <class Workload>
void verify_dispatched() {
    auto& f = Workload::shared();
    for (const char* arch : archs) {
        if (!cpu_runs(arch)) continue;
        hinge::dispatched_inference<typename Workload::net> inference(arch);
        for (std::size_t s = 0; s < Workload::inputs_count; ++s)
            Workload::check(implementation_name(arch).c_str(), s,
                            inference(f.params, std::span<const float, Workload::widths[0]>(f.inputs[s])),
                            Workload::reference(f, f.inputs[s]));
    }
    std::fprintf(stderr, "verified: %s dispatched outputs match the double reference (1e-4 relative)\n",
                 Workload::workload().c_str());
}

template <class Workload>
void register_workload() {
    static_assert(std::is_same_v<typename Workload::net, hinge_bench::dispatch::mlp<Workload::widths[0], Workload::widths[1],
                                                                                     Workload::widths[2], Workload::widths[3]>>,
                  "bench/dispatch/networks.hpp must name the same network as batch1_mlp.hpp");
    hinge_bench::add(Workload::workload() + "/hinge", Workload::flops, Workload::bench_hinge);
    for (const char* arch : archs)
        if (cpu_runs(arch))
            hinge_bench::add(Workload::workload() + "/" + implementation_name(arch), Workload::flops,
                             [arch](benchmark::State& state) { bench_dispatched<Workload>(state, arch); });
}

}  // namespace

void verify() {
    mlp<1, 16, 16, 1>::verify();  // hinge::inference (and the peers compiled in) against the reference
    mlp<64, 128, 128, 10>::verify();
    mlp<784, 256, 128, 10>::verify();
    verify_dispatched<mlp<1, 16, 16, 1>>();
    verify_dispatched<mlp<64, 128, 128, 10>>();
    verify_dispatched<mlp<784, 256, 128, 10>>();
}

void register_benchmarks() {
    register_workload<mlp<1, 16, 16, 1>>();
    register_workload<mlp<64, 128, 128, 10>>();
    register_workload<mlp<784, 256, 128, 10>>();
}

HINGE_BENCH_MAIN()
