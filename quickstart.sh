#!/usr/bin/env bash
# hinge quick start (Debian 12).
#   ./quickstart.sh demo   build the examples and train the Fashion-MNIST demo (about a minute)
#   ./quickstart.sh pictures   build examples/analysis_pictures, run it, render docs/img/analysis_*.png
#   ./quickstart.sh test   full check: g++ and clang++-19 builds with -Werror
#                          (AVX2 and SSE2 SIMD widths), ctest, install + consumer
# Missing Debian packages are installed with apt-get (needs root).
set -eu
set -o pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)

PACKAGES=(cmake g++ clang-19 ninja-build ccache libboost-dev libboost-test-dev
          libxsimd-dev libbenchmark-dev libeigen3-dev zlib1g-dev)
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

# test_one <name> <compiler> <arch flags>
test_one() {
    local name=$1 cxx=$2 arch=$3 dir=build/test-$1
    section "[$name] Configure $dir (CXX=$cxx, HINGE_ARCH_FLAGS='$arch', -Werror)"
    configure "$dir" -DCMAKE_CXX_COMPILER="$cxx" -DHINGE_WERROR=ON \
        -DHINGE_ARCH_FLAGS="$arch" \
        -DHINGE_BUILD_TESTS=ON -DHINGE_BUILD_EXAMPLES=ON -DHINGE_BUILD_BENCHMARKS=ON
    section "[$name] Build tests, examples, benchmarks"
    cmake --build "$dir" -j "$JOBS"
    section "[$name] ctest"
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS"
}

mode_test() {
    ensure_packages
    # gcc: AVX2+FMA (8 floats per batch); clang: no arch flags = SSE2 (4 floats).
    test_one gcc g++ "-march=x86-64-v3"
    test_one clang clang++-19 ""

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
    section "All tests passed"
}

case "${1:-}" in
    demo) mode_demo ;;
    test) mode_test ;;
    pictures) mode_pictures ;;
    *)
        echo "usage: $0 demo|test|pictures" >&2
        exit 2
        ;;
esac
