#!/usr/bin/env python3
"""The head-cost table of docs/RESULTS.md from bench_heads' JSON output: CPU time of forward + backward per head and
configuration, and the kernelized heads' ratio to the linear softmax. With every repetition in the file (a run
without --benchmark_report_aggregates_only) the best (smallest) repetition of each, issue 27's rule for ratios on
a shared machine; with aggregates only, the medians.
Usage: python3 bench/summarize_heads.py bench/results/heads.json"""
import json
import sys

COLUMNS = [("BM_softmax", "softmax W z + b"), ("BM_cosine", "cosine / LIN"), ("BM_kernelized", "KCL (fused)"),
           ("BM_kernelized_unfused", "KCL (unfused reference)")]


def main(path):
    runs = json.load(open(path))["benchmarks"]
    each = [b for b in runs if b.get("run_type") == "iteration"]
    t = {}
    if each:
        for b in each:
            kind, d, c = b["name"].split("/")[:3]
            key = (kind, int(d), int(c))
            t[key] = min(t.get(key, float("inf")), b["cpu_time"])
    for b in runs if not each else []:
        name = b["name"]
        if not name.endswith("_median"):
            continue
        kind, d, c = name[: -len("_median")].split("/")[:3]
        t[(kind, int(d), int(c))] = b["cpu_time"]
    configs = sorted({(d, c) for (_, d, c) in t})
    head = " | ".join(f"{label} (µs)" for kind, label in COLUMNS if any(k == kind for (k, _, _) in t))
    print(f"| d | classes | {head} | fused / softmax | unfused / softmax |")
    print("|---|---|" + "---|" * (sum(any(k == kind for (k, _, _) in t) for kind, _ in COLUMNS) + 2))
    for d, c in configs:
        cells = [f"{t[(kind, d, c)]:.0f}" for kind, _ in COLUMNS if (kind, d, c) in t]
        s = t[("BM_softmax", d, c)]
        ratios = [f"{t[(k, d, c)] / s:.2f}×" if (k, d, c) in t else "–" for k in ("BM_kernelized", "BM_kernelized_unfused")]
        print(f"| {d} | {c} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
