#!/usr/bin/python3
"""Build step of CTest exporter.nam: exports .nam files to headers with the exporter's command line.

  nam_export.py NAM_DATA_DIR OUT_DIR

Writes OUT_DIR/mixed.nam (a WaveNet of what the reference files lack: a gated ReLU array, a Tanh array
of kernel 1, a Sigmoid array with a head bias; seeded weights, some of them subnormal, -0 and float's
extremes, to test that every float32 reads back exactly), then runs `hinge_export nam` on
NAM_DATA_DIR/wavenet.nam and lstm.nam (with and without --fast-tanh) and on mixed.nam (--fast-tanh,
which changes the Tanh array only). nam_export_check.cpp compiles the headers.
"""
import json
import os
import random
import struct
import sys

from hinge_export.cli import main
from hinge_export.nam import wavenet_weight_count

MIXED_LAYERS = [
    {"input_size": 1, "condition_size": 1, "head_size": 2, "channels": 3, "kernel_size": 2, "dilations": [1, 4],
     "activation": "ReLU", "gated": True, "head_bias": False},
    {"input_size": 3, "condition_size": 1, "head_size": 4, "channels": 2, "kernel_size": 1, "dilations": [1],
     "activation": "Tanh", "gated": False, "head_bias": False},
    {"input_size": 2, "condition_size": 1, "head_size": 1, "channels": 4, "kernel_size": 3, "dilations": [2, 1, 8],
     "activation": "Sigmoid", "gated": False, "head_bias": True},
]


def f32_from_bits(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def mixed_model():
    rng = random.Random(20240613)
    n = wavenet_weight_count(MIXED_LAYERS)
    weights = [struct.unpack("<f", struct.pack("<f", rng.gauss(0.0, 0.5)))[0] for _ in range(n - 1)]
    # Values whose text must be exact to come back: the smallest subnormal, a subnormal, -0, float's
    # largest and smallest normal (the file is loaded, not played).
    weights[1:6] = [f32_from_bits(0x00000001), -f32_from_bits(0x0004d2c3), -0.0, f32_from_bits(0x7f7fffff),
                    f32_from_bits(0x00800000)]
    weights.append(0.02)  # head_scale, as the config says
    return {"version": "0.5.4", "architecture": "WaveNet",
            "config": {"layers": MIXED_LAYERS, "head": None, "head_scale": 0.02},
            "weights": weights, "sample_rate": 44100.0,
            "metadata": {"name": "mixed \u00e9 \")nam\" test", "gain": 0.5}}


def run(*argv):
    if main(["nam", *argv, "-q"]) != 0:
        sys.exit(f"nam_export.py: hinge_export nam {' '.join(argv)} failed")


def main_script():
    if len(sys.argv) != 3:
        sys.exit("usage: nam_export.py NAM_DATA_DIR OUT_DIR")
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    mixed = os.path.join(out, "mixed.nam")
    with open(mixed, "w", encoding="utf-8") as f:
        json.dump(mixed_model(), f, ensure_ascii=False)
    run(f"{data}/wavenet.nam", "--out", f"{out}/nam_wavenet.hpp")
    run(f"{data}/wavenet.nam", "--out", f"{out}/nam_wavenet_fast.hpp", "--fast-tanh")
    run(f"{data}/lstm.nam", "--out", f"{out}/nam_lstm.hpp", "--namespace", "nam_lstm")
    run(f"{data}/lstm.nam", "--out", f"{out}/nam_lstm_fast.hpp", "--namespace", "nam_lstm_fast", "--fast-tanh")
    run(mixed, "--out", f"{out}/nam_mixed.hpp", "--namespace", "exported::mixed", "--fast-tanh")
    return 0


if __name__ == "__main__":
    sys.exit(main_script())
