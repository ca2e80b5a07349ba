#!/usr/bin/python3
"""How hinge's thread teams would scale past the 2 cores of the benchmark machine: a model, not a
measurement (docs/performance.md, "Threads", shows it next to the measured 1- and 2-thread points).

    bench/thread_scaling_model.py [--handoff-us H] [--per-member-us C] [--plot FILE.png]

The model follows the code (kernels/gemm.hpp's tile_range, runtime/passes.hpp's splits). A
training step is a list of hand-offs; a hand-off runs products, each cut into `units` (panel tiles
of 16 floats, or row tiles of 6 rows packed / 5 rows in place, as g++ builds at AVX2) that are
dealt out in contiguous slices, so with n members a product takes

    t(n) = t(1) * ceil(units / n) / units        (the member with the largest slice)

and a hand-off costs H + C * n (publishing the pass, then n members decrementing one shared
counter). t(1) of each product is its share of the step's FLOPs times the measured single-thread
step time minus the serial part; the serial part (loss, output gradient, column-sum reductions)
is taken from the measured phases. What it leaves out, and what would limit it first on a real
16- or 64-core machine, is memory traffic: every member of a panel split reads all of A (the
batch's activations), every member of a row split all of B (the weights); see the printout.
"""
import argparse
import math

# (name, single-thread step time in us, serial us, [hand-offs: [(flops, units), ...]])
# Products per hand-off, units as the code splits them (AVX2, g++: packed row tile 6, in-place 5).
def mlp(widths, batch):
    handoffs = []
    layers = len(widths) - 1
    for l in range(layers):  # forward: panels if >= 8 panel tiles or more panel than row tiles
        out = widths[l + 1]
        panels = math.ceil(out / 16)
        rows = math.ceil(batch / 5)
        units = panels if panels >= 8 or panels >= rows else rows
        handoffs.append([(2 * batch * widths[l] * out, units)])
    for l in reversed(range(layers)):  # backward: weight gradient (rows of In) + input gradient (panels of In)
        products = [(2 * batch * widths[l] * widths[l + 1], math.ceil(widths[l] / 6))]
        if l > 0:
            products.append((2 * batch * widths[l] * widths[l + 1], math.ceil(widths[l] / 16)))
        handoffs.append(products)
    params = sum(widths[l] * widths[l + 1] + widths[l + 1] for l in range(layers))
    handoffs.append([(params, math.ceil(params / 16))])  # update (memory-bound, counted as work)
    return handoffs


def cnn(batch=64):
    # conv 3x3x32 on 28x28x1, pool, conv 3x3x64 on 14x14x32, pool, flatten, dense 128, dense 10
    c1 = 2 * 28 * 28 * 32 * 9 * batch
    c2 = 2 * 14 * 14 * 64 * 288 * batch
    d1 = 2 * 3136 * 128 * batch
    d2 = 2 * 128 * 10 * batch
    h = []
    h.append([(c1, math.ceil(784 / 5))])           # conv1 forward: positions
    h.append([(64 * 784 * 32 / 4, 64)])            # pool1 forward: samples (memory)
    h.append([(c2, math.ceil(196 / 5))])           # conv2 forward: positions
    h.append([(64 * 196 * 64 / 4, 64)])            # pool2
    h.append([(64 * 3136 / 4, 64)])                # flatten
    h.append([(d1, 8)])                            # dense 128: 8 panels
    h.append([(d2, math.ceil(64 / 5))])            # dense 10: rows
    h.append([(d2, math.ceil(128 / 6)), (d2, 8)])  # dense 10 backward
    h.append([(d1, math.ceil(3136 / 6))])          # dense 128 backward (no input product after flatten)
    h.append([(64 * 3136 / 4, 64)])                # flatten backward
    h.append([(64 * 196 * 64 / 4, 64)])            # pool2 backward
    h.append([(c2, math.ceil(288 / 6)), (c2, math.ceil(196 / 5))])  # conv2 weight + input gradient
    h.append([(64 * 784 * 32 / 4, 64)])            # pool1 backward
    h.append([(c1, math.ceil(9 / 6))])             # conv1 weight gradient: 9 rows of fan-in
    h.append([(421642, math.ceil(421642 / 16))])   # update
    return h


WORKLOADS = [
    # name, measured 1-thread step (us), serial part (us), hand-offs
    # (the _threads1 medians of docs/performance.md, "Threads", 2026-12-02)
    ("784-256-128-10 batch 64", 796.0, 15.0, mlp([784, 256, 128, 10], 64)),
    ("1024x4 batch 256", 55700.0, 300.0, mlp([1024, 1024, 1024, 1024], 256)),
    ("CNN batch 64", 26300.0, 60.0, cnn()),
]


def step_time(step_us, serial_us, handoffs, n, handoff_us, per_member_us):
    total_flops = sum(f for h in handoffs for f, _ in h)
    parallel_us = step_us - serial_us
    t = serial_us
    for h in handoffs:
        for flops, units in h:
            t1 = parallel_us * flops / total_flops
            t += t1 * math.ceil(units / n) / units if n > 1 else t1
        if n > 1:
            t += handoff_us + per_member_us * n
    return t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--handoff-us", type=float, default=0.3, help="hand-off cost at 2 members, minus C*2")
    parser.add_argument("--per-member-us", type=float, default=0.08, help="added per member (shared counter)")
    parser.add_argument("--plot", help="write the predicted speed-ups as a PNG")
    args = parser.parse_args()
    counts = [1, 2, 4, 8, 16, 32, 64]
    results = {}
    print(f"hand-off = {args.handoff_us} us + {args.per_member_us} us x members")
    print(f"{'workload':26}" + "".join(f"{n:>8}" for n in counts) + "   hand-offs/step  limit at 64")
    for name, step_us, serial_us, handoffs in WORKLOADS:
        times = [step_time(step_us, serial_us, handoffs, n, args.handoff_us, args.per_member_us) for n in counts]
        speedups = [times[0] / t for t in times]
        results[name] = speedups
        units = sorted(u for h in handoffs for _, u in h)
        overhead = len(handoffs) * (args.handoff_us + args.per_member_us * 64)
        limit = "hand-offs" if overhead > times[-1] / 2 else f"products of {units[0]}-{units[2]} units"
        print(f"{name:26}" + "".join(f"{s:8.2f}" for s in speedups) + f"   {len(handoffs):>14}  {limit}")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for name, speedups in results.items():
            ax.plot(counts, speedups, marker="o", label=name)
        ax.plot(counts, counts, color="grey", linestyle=":", label="linear")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xlabel("threads")
        ax.set_ylabel("predicted speed-up over 1 thread")
        ax.set_title("hinge thread teams past 2 cores: the model of bench/thread_scaling_model.py")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
