#!/usr/bin/python3
"""The speed-up curves of docs/performance.md ("Threads"), from the Google Benchmark JSON of the
training workloads (bench/run.sh writes build/bench-<compiler>-<arch>/<workload>.json):

    /usr/bin/python3 bench/plot_threads.py build/bench-gcc-native docs/img/threads_speedup.png

Left: time per step of hinge, Eigen and libtorch at 1 and 2 threads (the *_threads<N>/<impl>
rows, wall-clock medians), per workload, relative to hinge on one thread. Right: speed-up of 2
threads over 1 per implementation. (hinge past 2 threads is a model, not a measurement: its
picture is bench/thread_scaling_model.py --plot.) Needs Debian's python3-matplotlib.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WORKLOADS = [
    ("mlp_784_256_128_10_train_batch64", "784-256-128-10\nbatch 64"),
    ("mlp_1024_1024_1024_1024_train_batch256", "1024x4\nbatch 256"),
    ("cnn_fashion_mnist_train_batch64", "CNN\nbatch 64"),
]
IMPLS = [("hinge", "#1f77b4"), ("eigen", "#ff7f0e"), ("libtorch", "#2ca02c")]
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def medians(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            name = b["run_name"].replace("/real_time", "")
            key = "real_time" if "/real_time" in b["run_name"] else "cpu_time"
            out[name] = b[key] * UNIT[b.get("time_unit", "ns")]
    return out


def main():
    directory, target = sys.argv[1], sys.argv[2]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    width = 0.13
    speedups = {}
    for w, (workload, label) in enumerate(WORKLOADS):
        path = os.path.join(directory, workload + ".json")
        if not os.path.exists(path):
            continue
        m = medians(path)
        base = m.get(f"{workload}_threads1/hinge")
        for i, (impl, color) in enumerate(IMPLS):
            for t, threads in enumerate((1, 2)):
                value = m.get(f"{workload}_threads{threads}/{impl}")
                if value is None or base is None:
                    continue
                x = w + (2 * i + t - 2.5) * width
                left.bar(x, value / base, width, color=color, alpha=1.0 if threads == 2 else 0.45,
                         label=f"{impl}, {threads} thread{'s' if threads > 1 else ''}" if w == 0 else None)
            one, two = m.get(f"{workload}_threads1/{impl}"), m.get(f"{workload}_threads2/{impl}")
            if one and two:
                speedups.setdefault(impl, []).append((w, one / two))
    left.set_xticks(range(len(WORKLOADS)))
    left.set_xticklabels([label for _, label in WORKLOADS])
    left.set_ylabel("time per step / hinge on 1 thread")
    left.set_yscale("log")
    left.set_title("time per training step (lower is better)")
    left.legend(fontsize=7, ncol=3)
    left.grid(True, axis="y", which="both", alpha=0.3)

    for impl, color in IMPLS:
        points = speedups.get(impl, [])
        right.scatter([w for w, _ in points], [s for _, s in points], color=color, s=50, label=f"{impl}: 2 threads / 1")
    right.axhline(2.0, color="grey", linestyle=":", linewidth=1)
    right.axhline(1.0, color="grey", linewidth=0.8)
    right.set_xticks(range(len(WORKLOADS)))
    right.set_xticklabels([label for _, label in WORKLOADS])
    right.set_ylabel("speed-up of 2 threads over 1")
    right.set_ylim(0, 2.2)
    right.set_title("speed-up on 2 cores (dotted: linear)")
    right.legend(fontsize=8, loc="lower right")
    right.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
