#!/usr/bin/python3
"""Pictures of the audio demo (examples/audio_effect.cpp), with Debian's python3-matplotlib.

    plot_audio.py DIR OUT.png

DIR holds audio_learning_curve.csv (model, epoch, train_esr, test_esr, seconds) and
audio_waveform.csv (milliseconds, dry, reference, gru, conv). OUT.png gets two panels: the
reference effect against both models on 20 ms of held-out audio, and the error-to-signal ratio per
epoch (log scale), on the training windows and on the held-out audio streamed one sample per call.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main(directory, out):
    curve = read(f"{directory}/audio_learning_curve.csv")
    wave = read(f"{directory}/audio_waveform.csv")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7.5))

    t = [float(r["milliseconds"]) for r in wave]
    top.plot(t, [float(r["dry"]) for r in wave], color="0.75", lw=1, label="dry input")
    top.plot(t, [float(r["reference"]) for r in wave], color="black", lw=2.2, label="reference effect")
    top.plot(t, [float(r["gru"]) for r in wave], color="tab:orange", lw=1.2, label="gru<16> (stream)")
    top.plot(t, [float(r["conv"]) for r in wave], color="tab:blue", lw=1.2, ls="--", label="causal conv1d x7 (stream)")
    top.set_xlabel("time (ms), held-out audio")
    top.set_ylabel("amplitude")
    top.set_title("Learned distortion: 20 ms of held-out speech (the loudest), streamed one sample per call")
    top.legend(loc="lower right", fontsize=8)

    for model, color in (("gru", "tab:orange"), ("conv", "tab:blue")):
        rows = [r for r in curve if r["model"] == model]
        epochs = [int(r["epoch"]) for r in rows]
        bottom.plot(epochs, [float(r["train_esr"]) for r in rows], color=color, ls=":", label=f"{model}: training windows")
        bottom.plot(epochs, [float(r["test_esr"]) for r in rows], color=color, lw=2, label=f"{model}: held-out, streamed")
    bottom.set_yscale("log")
    bottom.set_xlabel("epoch")
    bottom.set_ylabel("error-to-signal ratio")
    bottom.set_title("Learning curves (truncated BPTT, windows of 256 samples, state carried)")
    bottom.grid(True, which="both", alpha=0.3)
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"plot_audio.py: wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot_audio.py DIR OUT.png")
    main(sys.argv[1], sys.argv[2])
