#!/usr/bin/python3
"""Renders the CSV files of examples/analysis_pictures as PNGs, with Debian's python3-matplotlib:
    plot_analysis.py CSV_DIR OUT_DIR
writes OUT_DIR/analysis_{regions,sparsity,gradient_depth,variance_depth,breakpoints}.png."""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import hsv_to_rgb  # noqa: E402


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def region_colours(ids):
    """A distinct, stable colour per region id: hues spaced by the golden ratio."""
    hue = (ids * 0.6180339887498949) % 1.0
    saturation = 0.35 + 0.35 * ((ids * 0.7548776662466927) % 1.0)
    value = 0.80 + 0.18 * ((ids * 0.5698402909980532) % 1.0)
    return hsv_to_rgb(np.stack([hue, saturation, value], axis=-1))


def plot_regions(src, out):
    meta = {r["label"]: r for r in rows(os.path.join(src, "regions_meta.csv"))}
    data = rows(os.path.join(src, "circle_data.csv"))
    px = np.array([float(r["x"]) for r in data])
    py = np.array([float(r["y"]) for r in data])
    label = np.array([int(r["label"]) for r in data])
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.4), dpi=110)
    for ax, when in zip(axes, ["before", "after"]):
        ids = np.loadtxt(os.path.join(src, f"regions_{when}.csv"), delimiter=",", dtype=np.int64)
        scores = np.loadtxt(os.path.join(src, f"scores_{when}.csv"), delimiter=",")
        m = meta[when]
        extent = [float(m["u_min"]), float(m["u_max"]), float(m["v_min"]), float(m["v_max"])]
        ax.imshow(region_colours(ids), origin="lower", extent=extent, interpolation="nearest")
        u = np.linspace(extent[0], extent[1], ids.shape[1])
        v = np.linspace(extent[2], extent[3], ids.shape[0])
        if scores.min() < 0.0 < scores.max():  # untrained, the network may give one class everywhere
            ax.contour(u, v, scores, levels=[0.0], colors="black", linewidths=1.6)
        ax.scatter(px[label == 0], py[label == 0], s=3, c="#1f3b8c", label="class 0 (r < 1)")
        ax.scatter(px[label == 1], py[label == 1], s=3, c="#b0201a", label="class 1 (1.35 < r < 2)")
        ax.set_title(f"{when} training: {m['regions']} linear regions")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal")
    axes[1].legend(loc="upper right", fontsize=8, markerscale=3)
    fig.suptitle("Linear regions of a 2-16-16-16-16-2 ReLU classifier (one colour per activation pattern; "
                 "black: decision boundary)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "analysis_regions.png"))
    plt.close(fig)


def plot_sparsity(src, out):
    data = rows(os.path.join(src, "sparsity.csv"))
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    width = 0.38
    for k, when in enumerate(["before", "after"]):
        sel = [r for r in data if r["when"] == when]
        layers = np.array([int(r["layer"]) for r in sel])
        zeros = np.array([100 * float(r["zero_fraction"]) for r in sel])
        bars = ax.bar(layers + (k - 0.5) * width, zeros, width, label=f"{when} training")
        for bar, r in zip(bars, sel):
            dead = int(r["dead_units"])
            ax.annotate(f"{dead} dead", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7)
    ax.axhline(50, color="grey", linestyle=":", label="50 % (symmetric pre-activations)")
    ax.set_xlabel("hidden layer (16 ReLU units each)")
    ax.set_ylabel("outputs exactly zero (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(sorted({int(r["layer"]) for r in data}))
    ax.set_title("Sparsity per layer on the 1,024 training points, and dead units", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "analysis_sparsity.png"))
    plt.close(fig)


def plot_gradients(src, out):
    sweep = rows(os.path.join(src, "gradient_depth.csv"))
    layers = rows(os.path.join(src, "gradient_layers.csv"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.3), dpi=110)
    for act, style in [("sigmoid", "o-"), ("tanh", "s-"), ("relu", "^-")]:
        s = [r for r in sweep if r["activation"] == act]
        left.semilogy([int(r["depth"]) for r in s], [float(r["ratio"]) for r in s], style, label=act)
        lay = [r for r in layers if r["activation"] == act]
        right.semilogy([int(r["layer"]) for r in lay], [float(r["weight"]) for r in lay], style, markersize=3, label=act)
    left.axhline(1, color="grey", linestyle=":")
    left.set_xlabel("hidden layers (width 64)")
    left.set_ylabel("||dL/dW first|| / ||dL/dW last||")
    left.set_title("Depth sweep: first- to last-layer gradient ratio", fontsize=10)
    right.set_xlabel("layer of the 50-layer network (1 = next to the input)")
    right.set_ylabel("||dL/dW|| at that layer")
    right.set_title("Gradient reaching each layer (50 layers)", fontsize=10)
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle("Gradient flow with He initialisation, batch of 32 N(0, 1) inputs, L = mean output", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "analysis_gradient_depth.png"))
    plt.close(fig)


def plot_variance(src, out):
    data = rows(os.path.join(src, "variance_depth.csv"))
    layer = [int(r["layer"]) for r in data]
    fig, ax = plt.subplots(figsize=(7, 4.4), dpi=110)
    he_runs = sorted(k for k in data[0] if k.startswith("he_") and k != "he_mean")
    for k, name in enumerate(he_runs):
        ax.semilogy(layer, [float(r[name]) for r in data], color="tab:green", alpha=0.3, linewidth=1,
                    label="He, single networks" if k == 0 else None)
    ax.semilogy(layer, [float(r["he_mean"]) for r in data], color="tab:green", linewidth=2.2,
                label=f"He N(0, 2/fan_in), mean of {len(he_runs)}")
    ax.semilogy(layer, [float(r["naive_0.01"]) for r in data], color="tab:blue", label="naive N(0, 0.01^2)")
    ax.semilogy(layer, [float(r["naive_1"]) for r in data], color="tab:red", label="naive N(0, 1)")
    ax.axhline(1, color="grey", linestyle=":")
    ax.set_xlabel("layer of a 50-layer ReLU network (width 64)")
    ax.set_ylabel("E[y^2] of the layer's outputs")
    ax.set_title("Forward signal vs depth: He keeps it, naive scales vanish or explode", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "analysis_variance_depth.png"))
    plt.close(fig)


def plot_breakpoints(src, out):
    curve = rows(os.path.join(src, "fit_curve.csv"))
    points = rows(os.path.join(src, "fit_breakpoints.csv"))
    fig, ax = plt.subplots(figsize=(8, 4.4), dpi=110)
    x = [float(r["x"]) for r in curve]
    ax.plot(x, [float(r["target"]) for r in curve], "--", color="grey", label="sin x")
    ax.plot(x, [float(r["fit"]) for r in curve], color="tab:blue", label="1-24-24-1 ReLU fit")
    bx = [float(r["x"]) for r in points]
    ax.plot(bx, [float(r["fit"]) for r in points], "o", color="tab:red", markersize=4,
            label=f"{len(points)} exact breakpoints")
    for b in bx:
        ax.axvline(b, color="tab:red", alpha=0.15, linewidth=0.8)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("A piecewise-linear fit and its exact breakpoints (analysis::segment_regions)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "analysis_breakpoints.png"))
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_analysis.py CSV_DIR OUT_DIR")
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    plot_regions(src, out)
    plot_sparsity(src, out)
    plot_gradients(src, out)
    plot_variance(src, out)
    plot_breakpoints(src, out)
    for name in ["regions", "sparsity", "gradient_depth", "variance_depth", "breakpoints"]:
        print(f"picture {os.path.join(out, 'analysis_' + name + '.png')}")


if __name__ == "__main__":
    main()
