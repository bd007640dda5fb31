#!/usr/bin/env python3
"""The head-cost table of docs/RESULTS.md from bench_heads' JSON output (medians when the run has repetitions):
CPU time of forward + backward per head and configuration, and the kernelized heads' ratio to the linear softmax.
Usage: python3 bench/summarize_heads.py bench/results/heads.json"""
import json
import sys

COLUMNS = [("BM_softmax", "softmax W z + b"), ("BM_cosine", "cosine / LIN"), ("BM_kernelized", "KCL (fused)"),
           ("BM_kernelized_unfused", "KCL (unfused reference)")]


def main(path):
    runs = json.load(open(path))["benchmarks"]
    medians = any(b["name"].endswith("_median") for b in runs)
    t = {}
    for b in runs:
        name = b["name"]
        if medians:
            if not name.endswith("_median"):
                continue
            name = name[: -len("_median")]
        kind, d, c = name.split("/")[:3]
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
