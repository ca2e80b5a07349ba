#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (clang++-19 -fsanitize=fuzzer,address,undefined):
#   fuzz_hinge_format  io::load_from_bytes   (io/save.hpp)
#   fuzz_safetensors   io::parse_safetensors + io::load_safetensors (io/safetensors.hpp)
#   fuzz_idx           io::read_idx          (io/idx.hpp), plain and gzip
#
#   tests/fuzz/run.sh [SECONDS] [BUILD_DIR]   run each target SECONDS (default 60) from the committed
#                                             seed corpus; new inputs go to BUILD_DIR/corpus/<target>
#                                             (default build/fuzz), crashes to BUILD_DIR/artifacts/
#   tests/fuzz/run.sh --seeds                 rewrite the committed seed corpus (after a format change)
# The readers live in the hinge::io library (src/io/*.cpp), which is compiled here once with the
# fuzzers' instrumentation (-fsanitize=fuzzer-no-link) and linked into each target.
# Longer runs and triage: docs/reliability.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CXX=${CXX_FUZZ:-clang++-19}
common=(-std=c++20 -O1 -g -Wall -Wextra -Wpedantic -Werror -fno-omit-frame-pointer -fno-sanitize-recover=undefined
        -I"$root/include")
flags=("${common[@]}" -fsanitize=fuzzer,address,undefined)

# build_io <dir> <compiler flags...>: compiles the hinge::io library's sources into <dir>; their
# objects are then in the array io_objects.
io_objects=()
build_io() {
    local dir=$1 src obj
    shift
    mkdir -p "$dir"
    local pids=() pid
    for src in "$root"/src/io/*.cpp; do
        obj=$dir/$(basename "$src" .cpp).o
        "$CXX" "$@" -c "$src" -o "$obj" &
        pids+=($!)
        io_objects+=("$obj")
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
}

if [ "${1:-}" = "--seeds" ]; then
    out=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$out'" EXIT
    CXX=clang++-19
    build_io "$out/io" -std=c++20 -O1 -Wall -Wextra -Wpedantic -I"$root/include"
    clang++-19 -std=c++20 -O1 -Wall -Wextra -Wpedantic -I"$root/include" "$here/make_seeds.cpp" "${io_objects[@]}" -lz \
        -o "$out/make_seeds"
    mkdir -p "$here/corpus/hinge_format" "$here/corpus/safetensors" "$here/corpus/idx"
    "$out/make_seeds" "$here/corpus"
    exit 0
fi

seconds=${1:-60}
build=${2:-$root/build/fuzz}
mkdir -p "$build/artifacts"
printf "\n---- hinge::io (src/io): build, with the fuzzers' instrumentation\n"
build_io "$build/io" "${common[@]}" -fsanitize=fuzzer-no-link,address,undefined
targets=(hinge_format safetensors idx)
# The targets are built side by side, then run side by side: each run is bounded by wall time
# (-max_total_time), so on a machine with fewer cores than targets each gets a share of a core.
pids=()
for target in "${targets[@]}"; do
    printf -- '---- fuzz_%s: build\n' "$target"
    "$CXX" "${flags[@]}" "$here/fuzz_$target.cpp" "${io_objects[@]}" -lz -o "$build/fuzz_$target" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
# run_one <target>: one bounded run; its summary goes to its log, a finding to the status.
run_one() {
    local target=$1 corpus=$build/corpus/$1
    mkdir -p "$corpus"
    # -rss_limit_mb / -malloc_limit_mb: a header that makes a reader allocate gigabytes is a finding.
    "$build/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "$corpus" "$here/corpus/$target" \
        2>"$build/fuzz_$target.log"
}
pids=()
for target in "${targets[@]}"; do
    printf -- '---- fuzz_%s: %s s from %s (+ %s)\n' "$target" "$seconds" "tests/fuzz/corpus/$target" "$build/corpus/$target"
    run_one "$target" &
    pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
    target=${targets[$i]}
    if ! wait "${pids[$i]}"; then
        status=1
        echo "fuzz_$target FOUND A PROBLEM: see $build/fuzz_$target.log and $build/artifacts/"
        grep -E "ERROR|SUMMARY|Test unit written" "$build/fuzz_$target.log" | head -20 || true
    fi
    grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" "$build/fuzz_$target.log" |
        sed "s/^/fuzz_$target: /"
done
exit $status
