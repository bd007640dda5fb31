#!/usr/bin/env python3
"""NeuralEF vs Nystrom (paper 002, Figure 2 and the issue's 1-D targets) from bench/neuralef_1d.sh's JSONL: per tag
and N, the eigenvalue relative error and the alignment with the exact eigenfunctions for j = 1..k (mean over
seeds; "-" where the reference eigenvalue is numerically zero or there is no reference), and the training time.
Usage: python3 bench/summarize_neuralef.py bench/results/neuralef_1d.jsonl"""
import statistics
import sys
from collections import OrderedDict

from runs import read_failed, read_runs


def mean_col(rows, key, j):
    xs = [r[key][j] for r in rows if r.get(key) is not None and r[key][j] is not None]
    return statistics.mean(xs) if xs else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main(path):
    groups = OrderedDict()
    for rec in read_runs(path):
        r = rec["result"]
        groups.setdefault((rec["tag"], r["n"]), []).append(r)
    print("### Eigenvalue relative error (mean over seeds), j = 1..10\n")
    print("| method | N | seeds | " + " | ".join(str(j) for j in range(1, 11)) + " |")
    print("|---|---|---|" + "---|" * 10)
    for (tag, n), rows in groups.items():
        if rows[0].get("eigenvalue_rel_error") is None:
            continue
        k = len(rows[0]["eigenvalues"])
        print(f"| {tag} | {n} | {len(rows)} | " + " | ".join(fmt(mean_col(rows, "eigenvalue_rel_error", j), ".4f") for j in range(k)) + " |")
    print("\n### Alignment |cos| with the exact eigenfunctions on 1000 held-out points (mean over seeds)\n")
    print("| method | N | seeds | " + " | ".join(str(j) for j in range(1, 11)) + " |")
    print("|---|---|---|" + "---|" * 10)
    for (tag, n), rows in groups.items():
        if rows[0].get("alignment") is None:
            continue
        k = len(rows[0]["eigenvalues"])
        print(f"| {tag} | {n} | {len(rows)} | " + " | ".join(fmt(mean_col(rows, "alignment", j), ".4f") for j in range(k)) + " |")
    print("\n### Training time (s; NeuralEF: 2000 iterations; Nystrom: kernel matrix + eigendecomposition)\n")
    print("| method | N | seeds | time (s) |")
    print("|---|---|---|---|")
    for (tag, n), rows in groups.items():
        ts = [r["train_seconds"] for r in rows]
        t = f"{ts[0]:.2f}" if len(ts) == 1 else f"{statistics.mean(ts):.2f} ± {statistics.stdev(ts):.2f}"
        print(f"| {tag} | {n} | {len(rows)} | {t} |")
    for cmd, err in read_failed(path):
        print(f"\nFAILED: `{cmd}`: {err}")


if __name__ == "__main__":
    main(sys.argv[1])
