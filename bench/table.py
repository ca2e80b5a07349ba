#!/usr/bin/env python3
"""One table from the Google Benchmark JSON files of bench/run.sh, for every compiler.

    bench/table.py build/bench-gcc-avx512 build/bench-gcc-avx2 ...   the workloads (one row per implementation)
    bench/table.py --all build/bench-gcc-native ...                   also the phases and kernels

Each directory holds <binary>.json files (written with --benchmark_out). A workload row is a
benchmark "<workload>/<impl>" whose workload is the binary's own name (mlp_64_128_128_10_batch1,
..., cnn_fashion_mnist_train_batch64); --all adds every other benchmark (phases of the training steps, dense_layer kernels).
Columns, all from the same binary's run:
  compiler the directory's name after "bench-" (bench/run.sh: compiler-instruction set)
  arch     xsimd's arch of the build, from the JSON context (avx512bw, fma3+avx2, sse2, ...)
  median   median over the repetitions of the CPU time per call
  spread   (max - min) / median over the repetitions
  GFLOP/s  FLOPs per call (FLOP/s counter x time of a repetition) / median
  % peak   GFLOP/s / peak_fma/float of the same binary (its fastest repetition)
  hinge/X  median of hinge (or hinge_batch1, hinge_bf16, hinge_int8) / median of peer X for the
           same workload (< 1: hinge is faster)
After it, the latency distributions of the batch-1 binaries (workloads <binary>_latency and
<binary>_latency_ftz: every call timed alone): the medians over the repetitions of the p50, p99
and p99.9 counters, in ns, and p99.9 / p50.
"""
import glob
import json
import os
import statistics
import sys

PEERS = ("eigen", "libtorch")
HINGE_IMPLS = ("hinge", "hinge_batch1", "hinge_bf16", "hinge_int8")
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        name = b["run_name"]
        r = runs.setdefault(name, {"samples": [], "flops": 0.0})
        seconds = b["cpu_time"] * UNIT[b.get("time_unit", "ns")]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") in ("median", "min", "max"):
                r[b["aggregate_name"]] = seconds
            if b.get("aggregate_name") == "median":
                for counter in ("p50_ns", "p99_ns", "p999_ns", "p999_over_p50"):
                    if counter in b:
                        r[counter] = b[counter]
        else:
            r["samples"].append(seconds)
            if "FLOP/s" in b:
                r["flops"] = b["FLOP/s"] * seconds
    for r in runs.values():
        if "median" not in r and r["samples"]:
            r["median"] = statistics.median(r["samples"])
        r.setdefault("min", min(r["samples"]) if r["samples"] else r.get("median", 0))
        r.setdefault("max", max(r["samples"]) if r["samples"] else r.get("median", 0))
    return data.get("context", {}), runs


def fmt_time(s):
    if s < 1e-6:
        return "%.1f ns" % (s * 1e9)
    if s < 1e-3:
        return "%.3f us" % (s * 1e6)
    return "%.3f ms" % (s * 1e3)


def main(argv):
    show_all = "--all" in argv
    dirs = [a for a in argv if not a.startswith("--")]
    if not dirs:
        sys.exit(__doc__)
    rows = []
    latency = []
    for d in dirs:
        compiler = os.path.basename(os.path.normpath(d)).replace("bench-", "")
        for path in sorted(glob.glob(os.path.join(d, "*.json"))):
            binary = os.path.splitext(os.path.basename(path))[0]
            context, runs = load(path)
            arch = context.get("simd", "?").split(",")[0]
            peak_run = runs.get("peak_fma/float")
            peak = peak_run["flops"] / peak_run["min"] if peak_run and peak_run["min"] > 0 else 0
            for name, r in runs.items():
                if "/" not in name or name.startswith("peak_fma") or "median" not in r:
                    continue
                workload, impl = name.rsplit("/", 1)
                if "p50_ns" in r:
                    latency.append([workload, compiler, arch, impl] +
                                   ["%.1f" % r[c] for c in ("p50_ns", "p99_ns", "p999_ns")] +
                                   ["%.2f" % r["p999_over_p50"]])
                if not show_all and workload != binary:
                    continue
                gflops = r["flops"] / r["median"] * 1e-9 if r["flops"] > 0 else 0
                ratios = []
                for peer in PEERS:
                    other = runs.get(workload + "/" + peer)
                    ratios.append("%.3f" % (r["median"] / other["median"]) if impl.startswith("hinge") and other else "-")
                order = (HINGE_IMPLS.index(impl) if impl in HINGE_IMPLS else
                         len(HINGE_IMPLS) + PEERS.index(impl) if impl in PEERS else 99)
                rows.append((workload, compiler, order, [
                    workload, compiler, arch, impl, fmt_time(r["median"]),
                    "%.1f%%" % (100 * (r["max"] - r["min"]) / r["median"]),
                    "%.2f" % gflops if gflops else "-",
                    "%.1f" % (100 * gflops * 1e9 / peak) if gflops and peak else "-",
                    "%.1f" % (peak * 1e-9) if peak else "-"] + ratios))
    # Workloads in a fixed order (batch-1 MLPs by size, then MLP training, then CNNs), then
    # compilers as given.
    def key(row):
        workload, compiler, order, _ = row
        training = "train" in workload
        size = [int(t) for t in workload.replace("_", " ").split() if t.isdigit()]
        return (training, workload.startswith("cnn_"), size[:1] + [sum(size)], workload, [os.path.basename(os.path.normpath(d)).replace("bench-", "") for d in dirs].index(compiler), order)
    rows.sort(key=key)
    header = ["workload", "compiler", "arch", "impl", "median", "spread", "GFLOP/s", "% peak", "peak GFLOP/s",
              "hinge/eigen", "hinge/libtorch"]
    table = [header] + [r[3] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    previous = None
    for i, line in enumerate(table):
        if i > 0 and previous is not None and line[0] != previous:
            print()
        print("  ".join(c.ljust(w) if j < 4 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))))
        previous = line[0] if i > 0 else None
    if latency:
        print()
        header = ["latency workload", "compiler", "arch", "impl", "p50 ns", "p99 ns", "p99.9 ns", "p99.9/p50"]
        latency.sort(key=lambda l: (l[0], l[1], HINGE_IMPLS.index(l[3]) if l[3] in HINGE_IMPLS else 99))
        table = [header] + latency
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        for line in table:
            print("  ".join(c.ljust(w) if j < 4 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))))


if __name__ == "__main__":
    main(sys.argv[1:])
