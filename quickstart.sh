#!/usr/bin/env bash
# hinge quick start (Debian 12).
#   ./quickstart.sh demo   build the examples and train the Fashion-MNIST demo (about a minute)
#   ./quickstart.sh cnn    build and train the Fashion-MNIST CNN demo (about 5 minutes, >= 91 %)
#   ./quickstart.sh pictures   build examples/analysis_pictures, run it, render docs/img/analysis_*.png
#   ./quickstart.sh test   full check: g++ and clang++-19 builds with -Werror
#                          (AVX2 and SSE2 SIMD widths), ctest, install + consumer,
#                          the tests under ASan+UBSan, concurrent inference under TSan,
#                          and bounded libFuzzer runs of the file readers (FUZZ_SECONDS each, default 30)
# Missing Debian packages are installed with apt-get (needs root).
set -eu
set -o pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)

PACKAGES=(cmake g++ clang-19 ninja-build ccache libboost-dev libboost-test-dev
          libxsimd-dev libbenchmark-dev libeigen3-dev zlib1g-dev
          nlohmann-json3-dev libclang-rt-19-dev qemu-user)
# qemu-user: the consumer's run-time dispatch is also run on emulated older CPUs (mode_test).
# The PyTorch parity test (tests/parity) runs when /usr/bin/python3 can import torch and numpy
# (Debian python3-torch python3-numpy, about 1 GB, so not installed here); otherwise CTest
# reports it as skipped and mode_test says so.
# The demo's data (IDX files under /usr/share/datasets/fashion-mnist/) and its plotting.
DEMO_PACKAGES=(dataset-fashion-mnist python3-matplotlib)
JOBS=2

section() {
    printf '\n==== %s   [%s, +%ss]\n' "$*" "$(date '+%F %T')" "$SECONDS"
}

die() {
    printf '\nquickstart.sh: ERROR: %s\n' "$*" >&2
    exit 1
}

# ensure_packages [extra packages...]: PACKAGES plus the extras.
ensure_packages() {
    section "Checking Debian packages"
    local missing=() pkg
    for pkg in "${PACKAGES[@]}" "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all present: ${PACKAGES[*]} $*"
        return 0
    fi
    echo "missing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        die "these packages are missing and installing them needs root: ${missing[*]}
  run as root, or first: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# Generator: Ninja when available (it always is after ensure_packages).
generator_args() {
    if command -v ninja >/dev/null 2>&1; then
        echo "-G Ninja"
    fi
}

# configure <build dir> <cmake args...>
configure() {
    local dir=$1
    shift
    # shellcheck disable=SC2046
    cmake -S "$ROOT" -B "$dir" $(generator_args) -DCMAKE_BUILD_TYPE=Release "$@"
}

mode_demo() {
    ensure_packages "${DEMO_PACKAGES[@]}"
    section "Configure (build/demo)"
    configure build/demo -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF \
        -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples"
    cmake --build build/demo -j "$JOBS"
    [ -x build/demo/examples/fashion_mnist ] ||
        die "build/demo/examples/fashion_mnist was not built (is zlib1g-dev installed?)"
    section "Run build/demo/examples/fashion_mnist (784-256-128-10 ReLU MLP, Adam, 15 epochs)"
    build/demo/examples/fashion_mnist --csv build/demo/fashion_mnist_learning_curve.csv --min-accuracy 89
    section "Render the learning curve"
    /usr/bin/python3 examples/plot_learning_curve.py build/demo/fashion_mnist_learning_curve.csv \
        build/demo/fashion_mnist_learning_curve.png
    section "Demo done (data: build/demo/fashion_mnist_learning_curve.csv, picture: build/demo/fashion_mnist_learning_curve.png)"
}

# The convolutional demo (docs/layers.md): conv 3x3x32, pool, conv 3x3x64, pool, dense 128, dense 10.
mode_cnn() {
    ensure_packages "${DEMO_PACKAGES[@]}"
    section "Configure (build/demo)"
    configure build/demo -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF \
        -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples/fashion_mnist_cnn"
    cmake --build build/demo -j "$JOBS" --target fashion_mnist_cnn
    [ -x build/demo/examples/fashion_mnist_cnn ] ||
        die "build/demo/examples/fashion_mnist_cnn was not built (is zlib1g-dev installed?)"
    section "Run build/demo/examples/fashion_mnist_cnn (two 3x3 convolutions with max-pooling, Adam, 8 epochs)"
    build/demo/examples/fashion_mnist_cnn --csv build/demo/fashion_mnist_cnn_learning_curve.csv --min-accuracy 91
    section "Render the learning curve"
    /usr/bin/python3 examples/plot_learning_curve.py build/demo/fashion_mnist_cnn_learning_curve.csv \
        build/demo/fashion_mnist_cnn_learning_curve.png
    section "CNN demo done (picture: build/demo/fashion_mnist_cnn_learning_curve.png)"
}

# The analysis pictures (docs/analysis.md): CSV from examples/analysis_pictures, PNG from
# examples/plot_analysis.py with Debian's python3-matplotlib, written into docs/img/.
mode_pictures() {
    ensure_packages python3-matplotlib
    section "Configure (build/pictures)"
    configure build/pictures -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF \
        -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples/analysis_pictures (about a minute: 50-layer networks are types)"
    cmake --build build/pictures -j "$JOBS" --target analysis_pictures
    mkdir -p build/pictures/csv
    section "Run build/pictures/examples/analysis_pictures"
    build/pictures/examples/analysis_pictures build/pictures/csv
    section "Render the pictures into docs/img/"
    /usr/bin/python3 examples/plot_analysis.py build/pictures/csv docs/img
    section "Pictures done (docs/img/analysis_*.png, data: build/pictures/csv/)"
}

# test_one <name> <compiler> <arch flags> [more cmake arguments]
test_one() {
    local name=$1 cxx=$2 arch=$3 dir=build/test-$1
    shift 3
    section "[$name] Configure $dir (CXX=$cxx, HINGE_ARCH_FLAGS='$arch', -Werror${*:+, $*})"
    configure "$dir" -DCMAKE_CXX_COMPILER="$cxx" -DHINGE_WERROR=ON \
        -DHINGE_ARCH_FLAGS="$arch" \
        -DHINGE_BUILD_TESTS=ON -DHINGE_BUILD_EXAMPLES=ON -DHINGE_BUILD_BENCHMARKS=ON "$@"
    section "[$name] Build tests, examples, benchmarks"
    cmake --build "$dir" -j "$JOBS"
    section "[$name] ctest"
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS"
}

# The unit tests and concurrent inference under AddressSanitizer and UndefinedBehaviorSanitizer
# (g++ 12 with the AVX2 kernels of the gcc build; -O0 compiles 3x faster than -O1 under the
# sanitizers and the tests still take under a minute), then concurrent inference under
# ThreadSanitizer (clang++-19). docs/reliability.md says why g++ for ASan.
test_sanitizers() {
    local asan="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    section "[asan] Configure build/test-asan (g++, ASan+UBSan, -O0)"
    configure build/test-asan -DCMAKE_CXX_COMPILER=g++ -DHINGE_WERROR=ON \
        -DHINGE_ARCH_FLAGS="-march=x86-64-v3" -DCMAKE_CXX_FLAGS="$asan" -DCMAKE_CXX_FLAGS_RELEASE="-O0 -g1" \
        -DCMAKE_EXE_LINKER_FLAGS="$asan" \
        -DHINGE_BUILD_TESTS=ON -DHINGE_BUILD_EXAMPLES=OFF -DHINGE_BUILD_BENCHMARKS=OFF
    section "[asan] Build tests"
    cmake --build build/test-asan -j "$JOBS" --target hinge_tests concurrent_inference
    section "[asan] ctest -L unit (hinge_tests, concurrent_inference)"
    ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build/test-asan --output-on-failure -j "$JOBS" -L unit

    local tsan="-fsanitize=thread -fno-omit-frame-pointer"
    section "[tsan] Configure build/test-tsan (clang++-19, ThreadSanitizer)"
    configure build/test-tsan -DCMAKE_CXX_COMPILER=clang++-19 -DHINGE_WERROR=ON \
        -DHINGE_ARCH_FLAGS="-march=x86-64-v3" -DCMAKE_CXX_FLAGS="$tsan" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1" \
        -DCMAKE_EXE_LINKER_FLAGS="$tsan" \
        -DHINGE_BUILD_TESTS=ON -DHINGE_BUILD_EXAMPLES=OFF -DHINGE_BUILD_BENCHMARKS=OFF
    section "[tsan] Build and run concurrent_inference"
    cmake --build build/test-tsan -j "$JOBS" --target concurrent_inference
    TSAN_OPTIONS=halt_on_error=1 build/test-tsan/tests/concurrent_inference
}

# Bounded libFuzzer runs of the own-format, safetensors and IDX readers (tests/fuzz/run.sh).
test_fuzzers() {
    section "[fuzz] libFuzzer, ${FUZZ_SECONDS:-30} s per target (tests/fuzz/run.sh)"
    tests/fuzz/run.sh "${FUZZ_SECONDS:-30}" "$ROOT/build/fuzz"
}

mode_test() {
    ensure_packages
    if ! /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1; then
        echo "NOTE: /usr/bin/python3 cannot import torch and numpy: the PyTorch parity test (parity.pytorch)"
        echo "      will be reported as skipped. Install python3-torch python3-numpy to run it."
    fi
    # gcc: AVX2+FMA (8 floats per batch); clang: no arch flags = SSE2 (4 floats).
    # gcc also builds the unit tests with the AVX-512 kernels (hinge_tests.avx512: run where the
    # CPU has AVX-512BW, reported as skipped elsewhere).
    test_one gcc g++ "-march=x86-64-v3" -DHINGE_TEST_AVX512=ON
    test_one clang clang++-19 ""
    test_sanitizers
    test_fuzzers

    local tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/hinge-consumer.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    section "Install build/test-gcc into $tmp/prefix"
    cmake --install build/test-gcc --prefix "$tmp/prefix"
    section "Consumer: find_package(hinge) from the installed prefix"
    # shellcheck disable=SC2046
    cmake -S "$ROOT/tests/consumer" -B "$tmp/build" $(generator_args) \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
        -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    cmake --build "$tmp/build" -j "$JOBS"
    section "Run consumer"
    "$tmp/build/consumer"
    # Run-time dispatch on CPUs without AVX2: qemu-x86_64 emulates them (and stops with SIGILL
    # on an instruction the CPU model lacks), so the consumer, built with the baseline flags and
    # dispatching to its per-arch entries, must choose each CPU's best arch and run cleanly.
    local cpu expected
    for cpu in core2duo:sse2 Nehalem:sse4.2 Haswell:fma3+avx2; do
        expected=${cpu#*:}
        cpu=${cpu%%:*}
        section "Consumer on an emulated $cpu CPU (qemu-x86_64): expects dispatch to $expected"
        qemu-x86_64 -cpu "$cpu" "$tmp/build/consumer" | tee "$tmp/qemu.log"
        grep -qx "consumer: default arch $expected" "$tmp/qemu.log" ||
            die "on an emulated $cpu the consumer did not dispatch to $expected"
    done
    section "All tests passed"
}

case "${1:-}" in
    demo) mode_demo ;;
    cnn) mode_cnn ;;
    test) mode_test ;;
    pictures) mode_pictures ;;
    *)
        echo "usage: $0 demo|cnn|test|pictures" >&2
        exit 2
        ;;
esac
