#!/usr/bin/python3
"""Pictures of the knob demo (examples/drive_knob.cpp), with Debian's python3-matplotlib.

    plot_knob.py DIR OUT.png

DIR holds knob_esr.csv (knob, gain, esr) and knob_sweep.csv (seconds, knob, dry, reference, model).
OUT.png gets two panels: the circuit against the model on 15 ms of held-out audio at three points
of the sweep (knob low, middle, high), and the error-to-signal ratio at each knob setting.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def loudest(rows, begin, end, length):
    """The start of the `length` rows in [begin, end) with the most energy in the dry input."""
    best, best_at = -1.0, begin
    for start in range(begin, max(begin + 1, end - length), max(1, length // 4)):
        energy = sum(float(r["dry"]) ** 2 for r in rows[start:start + length])
        if energy > best:
            best, best_at = energy, start
    return best_at


def main(directory, out):
    esr = read(f"{directory}/knob_esr.csv")
    sweep = read(f"{directory}/knob_sweep.csv")
    fig, axes = plt.subplots(2, 3, figsize=(11, 7), gridspec_kw={"height_ratios": [1.3, 1]})
    rate = 1.0 / (float(sweep[1]["seconds"]) - float(sweep[0]["seconds"]))
    length = int(0.015 * rate)
    n = len(sweep)
    for axis, (begin, end) in zip(axes[0], ((0, n // 6), (5 * n // 12, 7 * n // 12), (5 * n // 6, n))):
        start = loudest(sweep, begin, end, length)
        rows = sweep[start:start + length]
        t = [1000 * (float(r["seconds"]) - float(rows[0]["seconds"])) for r in rows]
        axis.plot(t, [float(r["dry"]) for r in rows], color="0.75", lw=1, label="dry input")
        axis.plot(t, [float(r["reference"]) for r in rows], color="black", lw=2.2, label="circuit")
        axis.plot(t, [float(r["model"]) for r in rows], color="tab:orange", lw=1.2, label="model (stream)")
        axis.set_title(f"knob {float(rows[0]['knob']):.2f} ({float(rows[0]['seconds']):.2f} s)")
        axis.set_xlabel("ms")
    axes[0][0].set_ylabel("amplitude")
    axes[0][0].legend(loc="lower left", fontsize=8)
    bottom = fig.add_subplot(2, 1, 2)
    for axis in axes[1]:
        axis.remove()
    knobs = [float(r["knob"]) for r in esr]
    bottom.bar([f"{k:.2f} (gain {float(r['gain']):.1f})" for k, r in zip(knobs, esr)],
               [100 * float(r["esr"]) for r in esr], color="tab:orange")
    bottom.set_ylabel("ESR on held-out audio (%)")
    bottom.set_xlabel("knob setting")
    bottom.set_title("Error-to-signal ratio at each knob setting, streamed one sample per call")
    fig.suptitle("A gated WaveNet with a drive knob (FiLM): the knob sweeps from 0 to 1 over the held-out audio")
    fig.tight_layout()
    fig.subplots_adjust(hspace=0.5)
    fig.savefig(out, dpi=110)
    print(f"plot_knob.py: wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot_knob.py DIR OUT.png")
    main(sys.argv[1], sys.argv[2])
