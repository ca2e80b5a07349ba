// run_if_cpu_has <feature> <program> [arguments...]: runs the program when this CPU has the
// feature (a __builtin_cpu_supports name such as "avx512bw"), and otherwise exits with 77, which
// CTest reports as skipped, with a message that says why. Compiled with the baseline flags, so
// that the check itself runs everywhere: a test binary built for AVX-512 could die with SIGILL
// in a static initialiser before its own main had a chance to look at the CPU.
#include <cstdio>
#include <cstring>

#include <unistd.h>

namespace {

bool cpu_has(const char* feature) {
    __builtin_cpu_init();
    // __builtin_cpu_supports takes a string literal only: one line per feature we test for.
    if (std::strcmp(feature, "avx512bw") == 0) return __builtin_cpu_supports("avx512bw");
    if (std::strcmp(feature, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
    if (std::strcmp(feature, "avx2") == 0) return __builtin_cpu_supports("avx2");
    std::fprintf(stderr, "run_if_cpu_has: unknown feature '%s' (avx512bw, avx512f, avx2)\n", feature);
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: run_if_cpu_has <feature> <program> [arguments...]\n");
        return 2;
    }
    if (!cpu_has(argv[1])) {
        std::printf("run_if_cpu_has: this CPU has no %s: %s not run (skipped)\n", argv[1], argv[2]);
        return 77;
    }
    execv(argv[2], argv + 2);
    std::perror("run_if_cpu_has: execv");
    return 2;
}
