#!/usr/bin/env bash
# Compiled-in parameters against a weights file, for the Fashion-MNIST MLP (784-256-128-10, ReLU,
# 235,146 parameters; WIDTHS for another): what compiling them in costs at build time and in the binary, and what
# loading the file costs at start-up.
#
#   bench/compiled_weights.sh                     g++ and clang++-19, -O2, 3 runs each (median)
#   RUNS=5 COMPILERS=gcc OPT=-O3 bench/compiled_weights.sh
#   WIDTHS="1024 1024 1024 1024 10" bench/compiled_weights.sh    another MLP (ReLU between the layers)
#
# The model is a PyTorch nn.Sequential with PyTorch's default initialisation (seed 1): random
# float32 values, as incompressible as trained ones, which is what matters for the text of the
# initialiser and the size of the object. hinge_export writes (build/compiled-weights/):
#   source/  fashion_mlp.hpp (type, extern declaration) + fashion_mlp.cpp (the parameters)
#   header/  fashion_mlp.hpp with the parameters inline (--embed header)
#   file/    fashion_mlp.hpp (type only) + fashion_mlp.safetensors
# and three programs run one inference: "source" and "header" on fashion_mlp_parameters, "file"
# after hinge::io::load_safetensors into a heap block (linked with hinge::io's src/io/, compiled
# once per compiler and not counted in the translation unit's time, as a library is not). Measured per compiler: compile time (wall
# and CPU, /usr/bin/time), peak memory, the object's size (size(1): text, data, the read-only data
# holding the parameters), the linked program's size, and the "file" program's load time (median
# of 50 loads of the file, page cache warm). Needs /usr/bin/python3 with python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/build/compiled-weights}
RUNS=${RUNS:-3}
OPT=${OPT:--O2}
COMPILERS=${COMPILERS:-"gcc clang"}
WIDTHS=${WIDTHS:-"784 256 128 10"}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$OUT"/{source,header,file}

cxx_of() { case $1 in gcc) echo g++ ;; clang) echo clang++-19 ;; *) echo "unknown compiler $1" >&2; exit 2 ;; esac; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

"$PYTHON" - "$OUT/fashion_mlp.pt" $WIDTHS <<'PY'
import sys
import torch
from torch import nn
torch.manual_seed(1)
widths = [int(w) for w in sys.argv[2:]]
layers = []
for i in range(len(widths) - 1):
    layers += [nn.Linear(widths[i], widths[i + 1])] + ([nn.ReLU()] if i + 2 < len(widths) else [])
torch.save(nn.Sequential(*layers), sys.argv[1])
PY
export PYTHONPATH=$ROOT/python
"$PYTHON" -m hinge_export "$OUT/fashion_mlp.pt" -o "$OUT/source/fashion_mlp.hpp" --embed source --no-weights -q
"$PYTHON" -m hinge_export "$OUT/fashion_mlp.pt" -o "$OUT/header/fashion_mlp.hpp" --embed header --no-weights -q
"$PYTHON" -m hinge_export "$OUT/fashion_mlp.pt" -o "$OUT/file/fashion_mlp.hpp" -q

for v in source header; do
    cat >"$OUT/$v/main.cpp" <<'CPP'
#include <cstdio>
#include <span>

#include <hinge/hinge.hpp>

#include "fashion_mlp.hpp"

int main() {
    hinge::inference<fashion_mlp> run;
    static float x[fashion_mlp::input_size];
    for (std::size_t i = 0; i < fashion_mlp::input_size; ++i) x[i] = float(i % 7) * 0.1f;
    std::printf("%f\n", double(run(fashion_mlp_parameters, std::span<const float, fashion_mlp::input_size>(x))[0]));
}
CPP
done
cat >"$OUT/file/main.cpp" <<'CPP'
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <span>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/safetensors.hpp>

#include "fashion_mlp.hpp"

int main(int argc, char** argv) {
    auto params = std::make_unique<hinge::parameters<fashion_mlp>>();
    std::vector<double> ms;
    for (int k = 0; k < (argc > 2 ? 50 : 1); ++k) {
        const auto start = std::chrono::steady_clock::now();
        hinge::io::load_safetensors(*params, argv[1]);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    hinge::inference<fashion_mlp> run;
    static float x[fashion_mlp::input_size];
    for (std::size_t i = 0; i < fashion_mlp::input_size; ++i) x[i] = float(i % 7) * 0.1f;
    std::printf("%f load %.3f ms\n", double(run(*params, std::span<const float, fashion_mlp::input_size>(x))[0]),
                ms[ms.size() / 2]);
}
CPP

# compile <cxx> <source> <object> -> "wall cpu rss_mb" medians over RUNS.
compile() {
    local cxx=$1 src=$2 obj=$3 r log walls=() cpus=() rss=()
    for ((r = 0; r < RUNS; ++r)); do
        log=$(mktemp)
        /usr/bin/time -v "$cxx" -std=c++20 "$OPT" -march=x86-64-v3 -I"$ROOT/include" -I"$(dirname "$src")" \
            -c "$src" -o "$obj" 2>"$log"
        walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; ++i) s = s * 60 + t[i]; print s }' "$log")")
        cpus+=("$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$log")")
        rss+=("$(awk -F': ' '/Maximum resident/ { print int($2 / 1024) }' "$log")")
        rm -f "$log"
    done
    echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median) $(printf '%s\n' "${rss[@]}" | median)"
}

echo "compiled-in parameters vs a weights file: ${WIDTHS// /-} MLP, $OPT -march=x86-64-v3, median of $RUNS"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "safetensors file: $(stat -c %s "$OUT/file/fashion_mlp.safetensors") bytes; parameters .cpp: $(stat -c %s "$OUT/source/fashion_mlp.cpp") bytes of source"
printf '%-6s %-28s %8s %8s %8s %10s %10s %10s\n' compiler "translation unit" "wall s" "cpu s" "rss MB" "text" "data" "rodata"
for c in $COMPILERS; do
    cxx=$(cxx_of "$c")
    for unit in source/fashion_mlp.cpp source/main.cpp header/main.cpp file/main.cpp; do
        obj="$OUT/${unit%.cpp}.$c.o"
        read -r wall cpu rss < <(compile "$cxx" "$OUT/$unit" "$obj")
        rodata=$(size -A "$obj" | awk '$1 ~ /^\.rodata/ { s += $2 } END { print s + 0 }')
        read -r text data _ < <(size "$obj" | tail -1)
        printf '%-6s %-28s %8.2f %8.2f %8d %10d %10d %10d\n' "$c" "$unit" "$wall" "$cpu" "$rss" "$text" "$data" "$rodata"
    done
    "$cxx" "$OUT/source/main.$c.o" "$OUT/source/fashion_mlp.$c.o" -o "$OUT/source/program.$c"
    "$cxx" "$OUT/header/main.$c.o" -o "$OUT/header/program.$c"
    # hinge::io, the compiled readers (src/io/), built as CMake builds the hinge_io library.
    io_objects=()
    for src in "$ROOT"/src/io/*.cpp; do
        io_objects+=("$OUT/file/io_$(basename "$src" .cpp).$c.o")
        "$cxx" -std=c++20 -O2 -I"$ROOT/include" -c "$src" -o "${io_objects[-1]}"
    done
    "$cxx" "$OUT/file/main.$c.o" "${io_objects[@]}" -lz -o "$OUT/file/program.$c"
    strip -o "$OUT/source/program.$c.stripped" "$OUT/source/program.$c"
    strip -o "$OUT/file/program.$c.stripped" "$OUT/file/program.$c"
    echo "$c: stripped program with the parameters compiled in $(stat -c %s "$OUT/source/program.$c.stripped") bytes;" \
         "loading the file $(stat -c %s "$OUT/file/program.$c.stripped") bytes + the file;" \
         "outputs: $("$OUT/source/program.$c") (compiled in), $("$OUT/header/program.$c") (header)," \
         "$(taskset -c 1 "$OUT/file/program.$c" "$OUT/file/fashion_mlp.safetensors" 50) (file, median of 50)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
