#!/usr/bin/env python3
"""Paper 001's Table 2 layout from a JSONL file of bench/kernel_sgd_fashion.sh: per tag (optimizer or ablation),
the validation-selected run of every seed, then mean ± std of train and test accuracy, training time, epochs and
the optimizer's state memory (MiB, as the paper's "Hessian" column).

Usage: summarize_optim.py FILE.jsonl
"""
import os
import statistics
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs import best_per_seed  # noqa: E402


def fmt(values, digits=2, scale=1.0):
    v = [x * scale for x in values]
    if not v:
        return "–"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"


def setting(r):
    s = f"lr {r['lr']:g}"
    k = r.get("kernel_sgd")
    if k:
        s += f", {k['kernel']}, {k['mode']}"
        if not k["fixed_batches"]:
            s += ", fresh batches"
        if k["all_layers"]:
            s += ", all layers"
    return s


def main():
    best = best_per_seed(sys.argv[1])
    tags = OrderedDict()
    for (tag, seed), rec in best.items():
        tags.setdefault(tag, []).append(rec)
    print("| optimizer | selected setting | batch | train acc. | test acc. | seeds | time (s) | epochs | state (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tag, recs in tags.items():
        rs = [r["result"] for r in recs]
        settings = sorted({setting(r) for r in rs})
        conv = [r["converged_epoch"] for r in rs if r["converged_epoch"]]
        epochs = fmt([r["epochs"] for r in rs], 1)
        if conv:
            epochs += f" ({len(conv)} converged)"
        print(f"| {tag} | {'; '.join(settings)} | {rs[0]['batch_size']} | {fmt([r['train_accuracy'] for r in rs], 2, 100)} | "
              f"{fmt([r['test_accuracy'] for r in rs], 2, 100)} | {len(rs)} | {fmt([r['train_seconds'] for r in rs], 0)} | "
              f"{epochs} | {fmt([r['optimizer_state_bytes'] / 2**20 for r in rs], 2)} |")
    print()
    print("Commands of the selected runs:")
    print()
    for tag, recs in tags.items():
        for r in recs:
            print(f"- `{r['command']}`")


if __name__ == "__main__":
    main()
