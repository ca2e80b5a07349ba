#!/bin/sh
# PyTorch parity (CTest test parity.pytorch): torch_parity.py export -> parity_check -> torch_parity.py check.
#   run_parity.sh <python> <parity_check executable> <work dir>
# Exits 77 (CTest: skipped) with a message when python cannot import torch and numpy.
set -eu
python=$1 checker=$2 dir=$3
here=$(dirname "$0")
if ! "$python" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "SKIPPED: PyTorch parity test: $python cannot import torch and numpy" \
         "(Debian: apt-get install python3-torch python3-numpy)"
    exit 77
fi
rm -rf "$dir"
mkdir -p "$dir"
"$python" "$here/torch_parity.py" export "$dir"
"$checker" "$dir"
"$python" "$here/torch_parity.py" check "$dir"
