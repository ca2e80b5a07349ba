#!/usr/bin/python3
"""Renders the learning curve that examples/fashion_mnist.hpp writes (CSV) as a PNG, with Debian's
python3-matplotlib:  plot_learning_curve.py CURVE.csv OUT.png [TITLE]

The CSV's '#' header lines, written by the program that trained the model, give the title
("# title: ...") and the target accuracy line ("# target_accuracy_percent: 89"), so every demo's
picture describes its own model; a TITLE argument overrides the title."""
import csv
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: plot_learning_curve.py CURVE.csv OUT.png [TITLE]")
    header = {}
    with open(sys.argv[1], newline="") as f:
        lines = f.read().splitlines()
    for line in lines:
        if line.startswith("#") and ":" in line:
            key, value = line[1:].split(":", 1)
            header[key.strip()] = value.strip()
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    if not rows:
        sys.exit(f"{sys.argv[1]}: no epochs")
    column = lambda name: [float(r[name]) for r in rows]  # noqa: E731
    epochs = column("epoch")
    title = sys.argv[3] if len(sys.argv) > 3 else header.get("title", f"hinge: {sys.argv[1]}")

    fig, (loss, accuracy) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    loss.plot(epochs, column("train_loss"), "o-", label="training (mean over the epoch)")
    loss.plot(epochs, column("test_loss"), "s-", label="test (after the epoch)")
    loss.set_xlabel("epoch")
    loss.set_ylabel("cross-entropy")
    loss.grid(alpha=0.3)
    loss.legend()
    accuracy.plot(epochs, [100 * a for a in column("train_accuracy")], "o-", label="training")
    accuracy.plot(epochs, [100 * a for a in column("test_accuracy")], "s-", label="test")
    if "target_accuracy_percent" in header:
        target = float(header["target_accuracy_percent"])
        accuracy.axhline(target, color="grey", linestyle=":", label=f"{target:g} % target (--min-accuracy)")
    accuracy.set_xlabel("epoch")
    accuracy.set_ylabel("accuracy (%)")
    accuracy.grid(alpha=0.3)
    accuracy.legend()
    fig.suptitle(textwrap.fill(title, 100))
    fig.tight_layout()
    fig.savefig(sys.argv[2])
    print(f"learning curve picture {sys.argv[2]}")


if __name__ == "__main__":
    main()
