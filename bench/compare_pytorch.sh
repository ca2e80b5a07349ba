#!/usr/bin/env bash
# Side by side: one of hinge's Fashion-MNIST demos and the same network in PyTorch, same
# hyper-parameters (He-normal init, Adam 1e-3 with per-step cosine decay, batch 64, reshuffled
# every epoch), one thread each, one after the other on the same machine.
#
#   bench/compare_pytorch.sh [EPOCHS]          the MLP 784-256-128-10 ReLU (default 15 epochs, as
#   bench/compare_pytorch.sh mlp [EPOCHS]      examples/fashion_mnist.cpp; bench/pytorch_mlp.py)
#   bench/compare_pytorch.sh cnn [EPOCHS]      the CNN conv 3x3x32, pool 2, conv 3x3x64, pool 2,
#                                              dense 128, dense 10 (default 8 epochs, as
#                                              examples/fashion_mnist_cnn.cpp; bench/pytorch_cnn.py)
#
# THREADS=N (default 1): hinge trains on a thread team of N (--threads N), and PyTorch runs with
# one thread and, when N > 1, again with N (torch.set_num_threads, OMP_NUM_THREADS); the ratio
# is taken against PyTorch's faster run.
#
# Prints the runs' seconds per epoch (training loop only) and test accuracy, and the ratio.
# A full CNN run takes minutes per side (8 epochs of 35-80 s each on the 2-core machine of
# docs/performance.md); `cnn 2` is enough for the time ratio.
# Debian packages it needs, installed when missing and running as root: python3-torch,
# libopenblas0-pthread (without it Debian's torch uses the reference BLAS and is ~20x slower,
# which would flatter hinge), dataset-fashion-mnist, zlib1g-dev.
set -eu
set -o pipefail
cd "$(dirname "$0")/.."
NETWORK=mlp
case "${1:-}" in
    mlp|cnn) NETWORK=$1; shift ;;
esac
if [ "$NETWORK" = cnn ]; then
    HINGE=fashion_mnist_cnn; PYTORCH=bench/pytorch_cnn.py; EPOCHS=${1:-8}; TARGET=""
else
    HINGE=fashion_mnist; PYTORCH=bench/pytorch_mlp.py; EPOCHS=${1:-15}; TARGET=" (target <= 0.40x; with THREADS=2 <= 0.30x)"
fi
case "$EPOCHS" in
    ''|*[!0-9]*) echo "usage: bench/compare_pytorch.sh [mlp|cnn] [EPOCHS]" >&2; exit 2 ;;
esac
PACKAGES=(python3-torch libopenblas0-pthread dataset-fashion-mnist zlib1g-dev cmake g++ ninja-build
          libboost-dev libxsimd-dev)

missing=()
for pkg in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "compare_pytorch.sh: missing packages: ${missing[*]} (install them as root)" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build/compare -G Ninja -DCMAKE_BUILD_TYPE=Release -DHINGE_BUILD_TESTS=OFF \
    -DHINGE_BUILD_BENCHMARKS=OFF -DHINGE_BUILD_EXAMPLES=ON -DHINGE_ARCH_FLAGS=-march=native >/dev/null
cmake --build build/compare --target "$HINGE" >/dev/null

log=$(mktemp -d "${TMPDIR:-/tmp}/hinge-compare.XXXXXX")
trap 'rm -rf "$log"' EXIT

THREADS=${THREADS:-1}
echo "==== hinge (build/compare/examples/$HINGE --epochs $EPOCHS --threads $THREADS; load $(cut -d' ' -f1-3 /proc/loadavg))"
"build/compare/examples/$HINGE" --epochs "$EPOCHS" --threads "$THREADS" --csv "$log/hinge.csv" | tee "$log/hinge.txt"
torch_counts=1
[ "$THREADS" -gt 1 ] && torch_counts="1 $THREADS"
for n in $torch_counts; do
    echo
    echo "==== PyTorch (/usr/bin/python3 $PYTORCH --epochs $EPOCHS --threads $n; load $(cut -d' ' -f1-3 /proc/loadavg))"
    OPENBLAS_NUM_THREADS=$n OMP_NUM_THREADS=$n /usr/bin/python3 "$PYTORCH" --epochs "$EPOCHS" --threads "$n" |
        tee "$log/torch$n.txt"
done

hinge_epoch=$(sed -n 's/^time per epoch *\([0-9.]*\) s.*/\1/p' "$log/hinge.txt")
hinge_accuracy=$(sed -n 's/^test accuracy *\([0-9.]*\) %.*/\1/p' "$log/hinge.txt")

echo
echo "==== $NETWORK, $EPOCHS epochs ($(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-20s %16s %16s\n' "" "s per epoch" "test accuracy"
printf '%-20s %16s %15s%%\n' "hinge, $THREADS thread(s)" "$hinge_epoch" "$hinge_accuracy"
best_epoch=""
best_accuracy=""
for n in $torch_counts; do
    torch_epoch=$(sed -n 's/^pytorch seconds_per_epoch=\([0-9.]*\) .*/\1/p' "$log/torch$n.txt")
    torch_accuracy=$(sed -n 's/^pytorch .*test_accuracy=\([0-9.]*\).*/\1/p' "$log/torch$n.txt")
    printf '%-20s %16s %15s%%\n' "PyTorch, $n thread(s)" "$torch_epoch" "$torch_accuracy"
    if [ -z "$best_epoch" ] || awk -v a="$torch_epoch" -v b="$best_epoch" 'BEGIN { exit !(a < b) }'; then
        best_epoch=$torch_epoch
        best_accuracy=$torch_accuracy
    fi
done
awk -v target="$TARGET" -v h="$hinge_epoch" -v t="$best_epoch" -v ha="$hinge_accuracy" -v ta="$best_accuracy" 'BEGIN {
    printf "time ratio hinge / PyTorch (its faster run): %.2fx%s; accuracy difference: %+.2f points\n", h / t, target, ha - ta
}'
