#!/usr/bin/python3
"""Renders the learning curve that examples/fashion_mnist writes (CSV) as a PNG, with Debian's
python3-matplotlib:  plot_learning_curve.py CURVE.csv OUT.png [TITLE]"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: plot_learning_curve.py CURVE.csv OUT.png [TITLE]")
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{sys.argv[1]}: no epochs")
    column = lambda name: [float(r[name]) for r in rows]  # noqa: E731
    epochs = column("epoch")
    title = sys.argv[3] if len(sys.argv) > 3 else "hinge: 784-256-128-10 ReLU MLP on Fashion-MNIST, Adam"

    fig, (loss, accuracy) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    loss.plot(epochs, column("train_loss"), "o-", label="training (mean over the epoch)")
    loss.plot(epochs, column("test_loss"), "s-", label="test (after the epoch)")
    loss.set_xlabel("epoch")
    loss.set_ylabel("cross-entropy")
    loss.grid(alpha=0.3)
    loss.legend()
    accuracy.plot(epochs, [100 * a for a in column("train_accuracy")], "o-", label="training")
    accuracy.plot(epochs, [100 * a for a in column("test_accuracy")], "s-", label="test")
    accuracy.axhline(89, color="grey", linestyle=":", label="89 % target")
    accuracy.set_xlabel("epoch")
    accuracy.set_ylabel("accuracy (%)")
    accuracy.grid(alpha=0.3)
    accuracy.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(sys.argv[2])
    print(f"learning curve picture {sys.argv[2]}")


if __name__ == "__main__":
    main()
