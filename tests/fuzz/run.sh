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
    for src in "$root"/src/io/*.cpp; do
        obj=$dir/$(basename "$src" .cpp).o
        "$CXX" "$@" -c "$src" -o "$obj"
        io_objects+=("$obj")
    done
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
status=0
for target in hinge_format safetensors idx; do
    exe=$build/fuzz_$target
    printf '\n---- fuzz_%s: build\n' "$target"
    "$CXX" "${flags[@]}" "$here/fuzz_$target.cpp" "${io_objects[@]}" -lz -o "$exe"
    corpus=$build/corpus/$target
    mkdir -p "$corpus"
    printf -- '---- fuzz_%s: %s s from %s (+ %s)\n' "$target" "$seconds" "tests/fuzz/corpus/$target" "$corpus"
    # -rss_limit_mb / -malloc_limit_mb: a header that makes a reader allocate gigabytes is a finding.
    if ! "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$target-" "$corpus" "$here/corpus/$target" 2>"$build/fuzz_$target.log"; then
        status=1
        echo "fuzz_$target FOUND A PROBLEM: see $build/fuzz_$target.log and $build/artifacts/"
        grep -E "ERROR|SUMMARY|Test unit written" "$build/fuzz_$target.log" | head -20 || true
    fi
    grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" "$build/fuzz_$target.log" |
        sed "s/^/fuzz_$target: /"
done
exit $status
