#!/usr/bin/env bash
# hinge quick start (Debian 12).
#   ./quickstart.sh demo   build examples/fashion_mnist only and train the Fashion-MNIST MLP (>= 89 %)
#   ./quickstart.sh cnn    build examples/fashion_mnist_cnn only and train the CNN (>= 91 %)
#   ./quickstart.sh pictures   build examples/analysis_pictures, run it, render docs/img/analysis_*.png
#   ./quickstart.sh audio  speak sentences with espeak-ng, learn a distortion effect from them with a GRU
#                          and a causal conv1d stack, stream both over held-out speech (examples/audio_effect)
#   ./quickstart.sh knob   the same speech and distortion with its drive on a knob: a gated WaveNet
#                          conditioned on the knob (FiLM) learns it, then streams while the knob
#                          sweeps (examples/drive_knob)
#   ./quickstart.sh nam    the same speech and distortion learned by Neural Amp Modeler's nano WaveNet,
#                          written as a .nam file and played back from it (examples/nam_capture)
#   ./quickstart.sh test   full check: g++ and clang++-19 builds with -Werror
#                          (AVX2 and SSE2 SIMD widths), ctest (with the PyTorch parity and
#                          exporter tests, and the LV2 plugin in lilv's hosts), the tests under ASan+UBSan,
#                          concurrent inference under TSan, bounded libFuzzer runs of the file
#                          readers (FUZZ_SECONDS each, default 20), then README.md's install
#                          commands and the consumer project, also on emulated older CPUs
# Every mode prints its time at the end; README.md states measured ones, with the machine.
# Missing Debian packages are installed with apt-get (needs root).
set -eu
set -o pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)

# Each mode installs only what it uses. BUILD_PACKAGES: a compiler, CMake, Ninja, Boost.Hana/Mp11,
# xsimd and zlib (hinge::io reads the demo's .gz files). No ccache for the demos: it speeds up
# rebuilds only, and a demo is built once (CMake still uses it when it is installed).
BUILD_PACKAGES=(cmake g++ ninja-build libboost-dev libxsimd-dev zlib1g-dev)
# The demos' data (IDX files under /usr/share/datasets/fashion-mnist/) and their plotting.
DEMO_PACKAGES=("${BUILD_PACKAGES[@]}" dataset-fashion-mnist python3-matplotlib)
PICTURES_PACKAGES=("${BUILD_PACKAGES[@]}" python3-matplotlib)
# The audio demo: libsndfile (WAV in and out, found with pkg-config) and espeak-ng, Debian's speech
# synthesiser, which makes the speech it learns from.
AUDIO_PACKAGES=("${BUILD_PACKAGES[@]}" libsndfile1-dev pkg-config espeak-ng python3-matplotlib)
# The NAM capture demo: the speech tools, and nlohmann-json, with which hinge::io reads and writes
# .nam files (the player library needs it).
NAM_PACKAGES=("${BUILD_PACKAGES[@]}" libsndfile1-dev pkg-config espeak-ng nlohmann-json3-dev)
# The test mode adds clang-19, Boost.Test, Google Benchmark, Eigen (benchmark peer), nlohmann-json
# (safetensors), ccache (five build trees of the same sources), clang's sanitizer and fuzzer
# runtime, qemu-user (the consumer's run-time dispatch is also run on emulated older CPUs), and
# libsndfile with pkg-config (the audio demo's smoke test, examples/audio_effect), and the LV2
# headers and lilv's tools (the Neural Amp Modeler plugin, examples/lv2, is tested in lv2apply).
# The PyTorch tests (tests/parity, tests/exporter: parity, the exporter's round trip and errors) and
# examples/from_pytorch run /usr/bin/python3 with python3-torch and python3-numpy (about 1 GB);
# the test builds configure with HINGE_REQUIRE_PYTORCH=ON, so they fail rather than skip without it.
TEST_PACKAGES=("${BUILD_PACKAGES[@]}" clang-19 ccache libboost-test-dev libbenchmark-dev libeigen3-dev
               nlohmann-json3-dev libclang-rt-19-dev qemu-user libsndfile1-dev pkg-config python3-torch
               python3-numpy lv2-dev lilv-utils)
JOBS=2

section() {
    printf '\n==== %s   [%s, +%ss]\n' "$*" "$(date '+%F %T')" "$SECONDS"
}

die() {
    printf '\nquickstart.sh: ERROR: %s\n' "$*" >&2
    exit 1
}

# ensure_packages <packages...>: installs those that are missing.
ensure_packages() {
    section "Checking Debian packages"
    local missing=() pkg
    for pkg in "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all present: $*"
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

# run_demo <target> <minimum test accuracy in %> <what it trains>: builds only examples/<target>,
# trains it on Fashion-MNIST into build/demo/<target>_learning_curve.csv and renders the PNG
# (title, target line and label come from the CSV's header, written by examples/fashion_mnist.hpp).
run_demo() {
    local target=$1 min_accuracy=$2 what=$3 start=$SECONDS
    local csv=build/demo/${target}_learning_curve.csv png=build/demo/${target}_learning_curve.png
    ensure_packages "${DEMO_PACKAGES[@]}"
    section "Configure (build/demo)"
    configure build/demo -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF \
        -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples/$target (only the demo's target)"
    cmake --build build/demo -j "$JOBS" --target "$target"
    [ -x "build/demo/examples/$target" ] ||
        die "build/demo/examples/$target was not built (is zlib1g-dev installed?)"
    section "Run build/demo/examples/$target ($what)"
    "build/demo/examples/$target" --csv "$csv" --min-accuracy "$min_accuracy"
    section "Render the learning curve"
    /usr/bin/python3 examples/plot_learning_curve.py "$csv" "$png"
    section "Done in $((SECONDS - start)) s (data: $csv, picture: $png)"
}

mode_demo() { run_demo fashion_mnist 89 "784-256-128-10 ReLU MLP, Adam, 15 epochs"; }
# The convolutional demo (docs/layers.md): conv 3x3x32, pool, conv 3x3x64, pool, dense 128, dense 10.
mode_cnn() { run_demo fashion_mnist_cnn 91 "two 3x3 convolutions with max-pooling, Adam, 8 epochs"; }

# The analysis pictures (docs/analysis.md): CSV from examples/analysis_pictures, PNG from
# examples/plot_analysis.py with Debian's python3-matplotlib, written into docs/img/.
mode_pictures() {
    ensure_packages "${PICTURES_PACKAGES[@]}"
    section "Configure (build/pictures)"
    configure build/pictures -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF \
        -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples/analysis_pictures (the slowest example to compile: 50-layer networks are types)"
    cmake --build build/pictures -j "$JOBS" --target analysis_pictures
    mkdir -p build/pictures/csv
    section "Run build/pictures/examples/analysis_pictures"
    build/pictures/examples/analysis_pictures build/pictures/csv
    section "Render the pictures into docs/img/"
    /usr/bin/python3 examples/plot_analysis.py build/pictures/csv docs/img
    section "Pictures done in $SECONDS s (docs/img/analysis_*.png, data: build/pictures/csv/)"
}

# The audio demo (docs/sequence.md): training speech in three voices, held-out speech in a fourth,
# the effect learned by both models, then WAV files, CSVs and a picture under build/audio/.
# make_speech DIR: the audio demos' speech, DIR/train{1,2,3}.wav and DIR/test.wav.
make_speech() {
    local dir=$1
    mkdir -p "$dir"
    section "Speech with espeak-ng (training: three voices; held out: a fourth voice and other words)"
    espeak-ng -v en-us -s 165 -w "$dir/train1.wav" "A neural network is a type. The compiler checks every shape, plans \
every buffer and fuses each layer with its activation. At run time there is no allocation and no virtual call."
    espeak-ng -v en-gb -s 150 -p 35 -w "$dir/train2.wav" "The amplifier hums, the pedal bites, and the speaker \
breaks up into a warm, uneven growl. Turn the drive knob up, and the quiet parts of the signal get louder."
    espeak-ng -v en-us+f3 -s 140 -p 70 -w "$dir/train3.wav" "Recurrent networks keep a state from one sample \
to the next. Causal convolutions look only at the past. Both can run one sample at a time, inside an audio callback."
    espeak-ng -v en-us+m7 -s 155 -p 50 -w "$dir/test.wav" "Held out from training: this sentence was never seen. \
If the model has learned the effect, and not the words, its output sounds like the reference."
}

mode_audio() {
    local start=$SECONDS dir=build/audio
    ensure_packages "${AUDIO_PACKAGES[@]}"
    make_speech "$dir"
    section "Configure (build/audio)"
    configure build/audio -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples/audio_effect (only the demo's target)"
    cmake --build build/audio -j "$JOBS" --target audio_effect
    [ -x build/audio/examples/audio_effect ] || die "build/audio/examples/audio_effect was not built (is libsndfile1-dev installed?)"
    section "Run build/audio/examples/audio_effect (gru<16> and a causal conv1d stack learn a distortion)"
    build/audio/examples/audio_effect --train "$dir/train1.wav" --train "$dir/train2.wav" --train "$dir/train3.wav" \
        --test "$dir/test.wav" --out "$dir" --max-esr 0.05
    section "Render the picture"
    /usr/bin/python3 examples/plot_audio.py "$dir" "$dir/audio_effect.png"
    section "Done in $((SECONDS - start)) s (listen: $dir/{dry,reference,gru,conv}.wav; picture: $dir/audio_effect.png)"
}

# The knob demo (docs/graphs.md): the same speech, the circuit's drive on a knob, a gated WaveNet
# conditioned on the knob (FiLM) learns it at five settings and streams while the knob sweeps.
mode_knob() {
    local start=$SECONDS dir=build/knob
    ensure_packages "${AUDIO_PACKAGES[@]}"
    make_speech "$dir"
    section "Configure (build/knob)"
    configure build/knob -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples/drive_knob (only the demo's target)"
    cmake --build build/knob -j "$JOBS" --target drive_knob
    [ -x build/knob/examples/drive_knob ] || die "build/knob/examples/drive_knob was not built (is libsndfile1-dev installed?)"
    section "Run build/knob/examples/drive_knob (a gated WaveNet with a drive knob learns the distortion)"
    build/knob/examples/drive_knob --train "$dir/train1.wav" --train "$dir/train2.wav" --train "$dir/train3.wav" \
        --test "$dir/test.wav" --out "$dir" --max-esr 0.05
    section "Render the picture"
    /usr/bin/python3 examples/plot_knob.py "$dir" "$dir/drive_knob.png"
    section "Done in $((SECONDS - start)) s (listen: $dir/{dry,reference_sweep,model_sweep}.wav; picture: $dir/drive_knob.png)"
}

# The NAM capture demo (docs/nam.md): the same speech through the audio demo's distortion, learned
# by NAM's nano WaveNet, written as build/nam/capture.nam and played back from it by the player.
mode_nam() {
    local start=$SECONDS dir=build/nam
    ensure_packages "${NAM_PACKAGES[@]}"
    make_speech "$dir"
    section "Configure (build/nam)"
    configure build/nam -DHINGE_BUILD_TESTS=OFF -DHINGE_BUILD_BENCHMARKS=OFF -DHINGE_BUILD_EXAMPLES=ON
    section "Build examples/nam_capture and the player library (only the demo's targets)"
    cmake --build build/nam -j "$JOBS" --target nam_capture
    [ -x build/nam/examples/nam_capture ] ||
        die "build/nam/examples/nam_capture was not built (are libsndfile1-dev and nlohmann-json3-dev installed?)"
    section "Run build/nam/examples/nam_capture (NAM's nano WaveNet learns the distortion, saved as .nam)"
    build/nam/examples/nam_capture --train "$dir/train1.wav" --train "$dir/train2.wav" --train "$dir/train3.wav" \
        --test "$dir/test.wav" --out "$dir" --max-esr 0.05
    section "Done in $((SECONDS - start)) s (model: $dir/capture.nam; listen: $dir/{dry,reference,capture}.wav)"
}

# test_one <name> <compiler> <arch flags> [more cmake arguments]
test_one() {
    local name=$1 cxx=$2 arch=$3 dir=build/test-$1
    shift 3
    section "[$name] Configure $dir (CXX=$cxx, HINGE_ARCH_FLAGS='$arch', -Werror${*:+, $*})"
    configure "$dir" -DCMAKE_CXX_COMPILER="$cxx" -DHINGE_WERROR=ON \
        -DHINGE_ARCH_FLAGS="$arch" -DHINGE_REQUIRE_PYTORCH=ON \
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
        -DHINGE_TEST_OPTIMIZATION=-O0 \
        -DCMAKE_EXE_LINKER_FLAGS="$asan" \
        -DHINGE_BUILD_TESTS=ON -DHINGE_BUILD_EXAMPLES=OFF -DHINGE_BUILD_BENCHMARKS=OFF
    section "[asan] Build tests"
    cmake --build build/test-asan -j "$JOBS" --target hinge_tests concurrent_inference
    section "[asan] ctest -L unit (hinge_tests in two parts, concurrent_inference)"
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
    section "[fuzz] libFuzzer, ${FUZZ_SECONDS:-20} s per target (tests/fuzz/run.sh)"
    tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" "$ROOT/build/fuzz"
}

mode_test() {
    ensure_packages "${TEST_PACKAGES[@]}"
    # gcc: AVX2+FMA (8 floats per batch), tests and examples built and run, unit tests at -O2; on
    # a CPU with AVX-512BW also the unit tests with the AVX-512 kernels (hinge_tests.avx512). The
    # benchmarks are checked with -fsyntax-only but one, which is linked (bench/run.sh builds them).
    # clang: no arch flags = SSE2 (4 floats), unit tests and the NAM player library at -O1 (-O0
    # compiles in 70 s less and runs the tests in 100 s more), and the examples and benchmarks
    # checked with -fsyntax-only (every clang warning, none of clang's code generation, which
    # would double the build's time; they are built and run by the gcc build).
    local avx512=OFF
    if grep -qw avx512bw /proc/cpuinfo 2>/dev/null; then avx512=ON; fi
    test_one gcc g++ "-march=x86-64-v3" -DHINGE_TEST_AVX512=$avx512 -DHINGE_SYNTAX_ONLY_BENCHMARKS=ON
    test_one clang clang++-19 "" -DHINGE_SYNTAX_ONLY_EXTRAS=ON -DHINGE_TEST_OPTIMIZATION=-O1 \
        -DHINGE_NAM_PLAYER_OPTIMIZATION=-O1
    test_sanitizers
    test_fuzzers

    local tmp install_block
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/hinge-consumer.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    # The README's install commands, as written: CI proves the section users copy from.
    install_block=$(.ci/readme_block "Use hinge in your project" 1) ||
        die "README.md has no \`\`\`sh block under '## Use hinge in your project'"
    section "Install and build the consumer as README.md 'Use hinge in your project' says (PREFIX=$tmp/prefix, APP=$tmp/app)"
    PREFIX="$tmp/prefix" APP="$tmp/app" bash -euo pipefail -c "$install_block"
    section "The installed hinge-export command: the consumer's model file against the type its build generated"
    "$tmp/prefix/bin/hinge-export" describe "$tmp/app/abs.safetensors" --against "$tmp/app/build/hinge_models/abs_net.hpp"
    # Run-time dispatch on CPUs without AVX2: qemu-x86_64 emulates them (and stops with SIGILL
    # on an instruction the CPU model lacks), so the consumer, built with the baseline flags and
    # dispatching to its per-arch entries, must choose each CPU's best arch and run cleanly.
    local cpu expected
    for cpu in core2duo:sse2 Nehalem:sse4.2 Haswell:fma3+avx2; do
        expected=${cpu#*:}
        cpu=${cpu%%:*}
        section "Consumer on an emulated $cpu CPU (qemu-x86_64): expects dispatch to $expected"
        qemu-x86_64 -cpu "$cpu" "$tmp/app/build/consumer" | tee "$tmp/qemu.log"
        grep -qx "consumer: default arch $expected" "$tmp/qemu.log" ||
            die "on an emulated $cpu the consumer did not dispatch to $expected"
    done
    section "All tests passed in $SECONDS s"
}

case "${1:-}" in
    demo) mode_demo ;;
    cnn) mode_cnn ;;
    test) mode_test ;;
    pictures) mode_pictures ;;
    audio) mode_audio ;;
    knob) mode_knob ;;
    nam) mode_nam ;;
    *)
        echo "usage: $0 demo|cnn|test|pictures|audio|knob|nam" >&2
        exit 2
        ;;
esac
