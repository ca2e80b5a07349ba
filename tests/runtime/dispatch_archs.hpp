#pragma once
// The instruction sets of hinge::dispatch_archs, best first, as xsimd names them, and whether this
// CPU runs each: for the tests that force every arch (tests/runtime/dispatch.cpp, batch1.cpp).
#include <array>
#include <string>

#include <hinge/hinge.hpp>

namespace dispatch_test {

inline const std::array<std::string, 4> arch_names{"avx512bw", "fma3+avx2", "sse4.2", "sse2"};

inline bool cpu_runs(const std::string& name) {
    const auto cpu = xsimd::available_architectures();
    if (name == "avx512bw") return cpu.avx512bw;
    if (name == "fma3+avx2") return cpu.fma3_avx2;
    if (name == "sse4.2") return cpu.sse4_2;
    return cpu.sse2;
}

}  // namespace dispatch_test
