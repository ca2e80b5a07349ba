#!/usr/bin/env bash
# Builds the benchmarks with g++ and clang++-19 (Release) and runs every one, pinned to CPU 1 when
# taskset exists; ends with ONE table of every workload (bench/mlp_*.cpp, bench/cnn_*.cpp) x
# implementation (hinge, eigen, libtorch) x compiler x instruction set, from bench/table.py.
#
# Instruction sets: -march=native on a host without AVX-512. On an AVX-512 host, two builds per
# compiler side by side, -march=x86-64-v4 (AVX-512, build/bench-C-avx512) and -march=x86-64-v3
# (AVX2+FMA, build/bench-C-avx2), so that each table row says what the wider vectors buy.
# (Not -march=native there: clang 19 on a Sapphire Rapids guest warns about an "invalid feature
# combination: +avx10.1-256" and fails to compile with -march=native -mno-avx512f.)
# libtorch is in the g++ build only (its 1.13 headers do not compile with clang 19 in C++20).
#
#   bench/run.sh                      both compilers, every bench/*.cpp
#   bench/run.sh --benchmark_min_time=0.1     extra arguments go to every benchmark binary
#   COMPILERS=gcc bench/run.sh        one compiler (gcc, clang)
#   BENCHES="mlp_64_128_128_10_batch1" bench/run.sh      some benchmarks only
#   WAIT_IDLE=600 bench/run.sh        before each binary, wait up to 600 s for the machine to be idle
#   ARCHS="avx2" bench/run.sh         some instruction sets only (native, or avx512 and avx2)
#   BENCH_CPU=0,1 bench/run.sh --benchmark_filter='threads|peak'
#                                     the 1- and 2-thread rows of the training workloads (a team of
#                                     2 needs two CPUs; the default pins everything to CPU 1)
#
# Other processes on the machine distort every number here. As root, the benchmarks run with
# nice -n -20, so that a build running beside them takes little of the pinned CPU. Each run prints how busy the whole
# machine was while it ran ("busy": 100% = all CPUs; the benchmark itself is one CPU).
# Output per compiler C, instruction set A and benchmark NAME:
#   build/bench-C-A/NAME.json   Google Benchmark JSON: every repetition plus mean/median/stddev/cv/min/max
#                               (its "context" names the compiler and xsimd's arch)
#   build/bench-C-A/NAME.txt    the console output, ending with the summary table
# Without CMake files (or with DIRECT=1) each bench is compiled directly with the compiler.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
COMPILERS=${COMPILERS:-"gcc clang"}
CPU=${BENCH_CPU:-1}
if grep -qw avx512bw /proc/cpuinfo 2>/dev/null; then
    ARCHS=${ARCHS:-"avx512 avx2"}
else
    ARCHS=${ARCHS:-native}
fi

flags_of() {
    case $1 in
        native) echo "-march=native" ;;
        avx512) echo "-march=x86-64-v4" ;;
        avx2) echo "-march=x86-64-v3" ;;
        *) echo "bench/run.sh: unknown instruction set '$1' (native, avx512, avx2)" >&2; exit 2 ;;
    esac
}

section() { printf '\n==== %s   [%s]\n' "$*" "$(date '+%F %T')"; }

cxx_of() {
    case $1 in
        gcc) echo g++ ;;
        clang) echo clang++-19 ;;
        *) echo "bench/run.sh: unknown compiler '$1' (gcc or clang)" >&2; exit 2 ;;
    esac
}

bench_names() {
    if [ -n "${BENCHES:-}" ]; then
        echo "$BENCHES"
        return
    fi
    local f
    for f in "$ROOT"/bench/*.cpp; do basename "$f" .cpp; done
}

# build <compiler> <instruction set> <dir>: the executables end up in <dir>/bench/
build() {
    local compiler=$1 arch_flags dir=$3 cxx
    arch_flags=$(flags_of "$2")
    cxx=$(cxx_of "$compiler")
    if [ -z "${DIRECT:-}" ] && [ -f "$ROOT/CMakeLists.txt" ] && [ -f "$ROOT/bench/CMakeLists.txt" ]; then
        local generator=()
        command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
        section "[$compiler] configure $dir"
        mkdir -p "$dir"
        cmake -S "$ROOT" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
            -DHINGE_ARCH_FLAGS="$arch_flags" -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_EXAMPLES=OFF -DHINGE_BUILD_BENCHMARKS=ON >"$dir/configure.log" ||
            { cat "$dir/configure.log"; exit 1; }
        grep -E 'hinge:|Eigen' "$dir/configure.log" || true
        section "[$compiler] build"
        local targets=() name
        for name in $(bench_names); do targets+=(--target "$name"); done
        cmake --build "$dir" -j 2 "${targets[@]}"
    else
        section "[$compiler] compile directly (no CMake files, or DIRECT=1)"
        mkdir -p "$dir/bench"
        local eigen=() name
        if [ -f /usr/include/eigen3/Eigen/Core ]; then eigen=(-DHINGE_HAVE_EIGEN=1 -isystem /usr/include/eigen3); fi
        for name in $(bench_names); do
            echo "$cxx bench/$name.cpp"
            # shellcheck disable=SC2086
            "$cxx" -std=c++20 -O3 -DNDEBUG $arch_flags -Wall -Wextra -Wpedantic -I"$ROOT/include" "${eigen[@]}" \
                "$ROOT/bench/$name.cpp" -o "$dir/bench/$name" -lbenchmark -lpthread
        done
    fi
}

# cpu_times: "busy total" jiffies over all CPUs, from /proc/stat
cpu_times() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# busy_since <busy> <total>: percentage of all CPUs busy since that sample
busy_since() {
    local now
    now=$(cpu_times)
    awk -v b0="$1" -v t0="$2" -v now="$now" 'BEGIN { split(now, n, " ");
        printf "%.0f%%", (n[2] > t0) ? 100 * (n[1] - b0) / (n[2] - t0) : 0 }'
}

# wait_idle <seconds>: until less than 10% of the machine is busy over 2 s, or the time is up
wait_idle() {
    local deadline=$((SECONDS + $1)) b0 t0 busy
    while :; do
        read -r b0 t0 < <(cpu_times)
        sleep 2
        busy=$(busy_since "$b0" "$t0")
        if [ "${busy%\%}" -lt 10 ] || [ $SECONDS -ge $deadline ]; then
            echo "machine busy before the run: $busy of all CPUs"
            return
        fi
    done
}

run() {
    local compiler=$1 dir=$2 name exe pin=()
    shift 2
    if [ "$(id -u)" -eq 0 ]; then pin=(nice -n -20); fi
    if command -v taskset >/dev/null 2>&1 && taskset -c "$CPU" true 2>/dev/null; then pin+=(taskset -c "$CPU"); fi
    for name in $(bench_names); do
        exe="$dir/bench/$name"
        [ -x "$exe" ] || { echo "bench/run.sh: $exe was not built" >&2; exit 1; }
        section "[$compiler] $name ${pin[*]:+(${pin[*]})}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
        if [ -n "${WAIT_IDLE:-}" ]; then wait_idle "$WAIT_IDLE"; fi
        local b0 t0
        read -r b0 t0 < <(cpu_times)
        "${pin[@]}" "$exe" --benchmark_out="$dir/$name.json" --benchmark_out_format=json "$@" 2>&1 |
            tee "$dir/$name.txt"
        printf 'machine busy during the run: %s of %s CPUs (this benchmark alone: %s)\n' \
            "$(busy_since "$b0" "$t0")" "$(nproc)" "$((100 / $(nproc)))%" | tee -a "$dir/$name.txt"
        echo "JSON: $dir/$name.json"
    done
}

section "machine"
echo "cpu:       $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) CPUs)"
echo "kernel:    $(uname -r)"
echo "commit:    $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
for compiler in $COMPILERS; do printf '%-10s %s\n' "$compiler:" "$($(cxx_of "$compiler") --version | head -n 1)"; done
for arch in $ARCHS; do printf '%-10s %s\n' "$arch:" "$(flags_of "$arch")"; done
echo "load:      $(cat /proc/loadavg)  (anything above ~0.1 on an idle machine disturbs the numbers)"

for compiler in $COMPILERS; do
    for arch in $ARCHS; do
        dir="$ROOT/build/bench-$compiler-$arch"
        build "$compiler" "$arch" "$dir"
        run "$compiler-$arch" "$dir" "$@"
    done
done

section "summary tables, per binary"
for compiler in $COMPILERS; do
    for arch in $ARCHS; do
        for name in $(bench_names); do
            printf '\n[%s %s] %s\n' "$compiler" "$arch" "$name"
            sed -n '/^Summary/,$p' "$ROOT/build/bench-$compiler-$arch/$name.txt"
        done
    done
done

section "the workloads, every compiler and instruction set (bench/table.py; --all adds phases and kernels)"
dirs=()
for compiler in $COMPILERS; do
    for arch in $ARCHS; do dirs+=("$ROOT/build/bench-$compiler-$arch"); done
done
if command -v python3 >/dev/null 2>&1; then
    python3 "$ROOT/bench/table.py" "${dirs[@]}"
else
    echo "python3 not found: the per-binary tables above are the results"
fi
