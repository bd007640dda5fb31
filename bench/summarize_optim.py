#!/usr/bin/env python3
"""Paper 001's Table 2 layout from a JSONL file of bench/kernel_sgd_fashion.sh: per tag (optimizer or ablation),
the validation-selected run of every seed, then mean ± std of train and test accuracy, training time, epochs and
the optimizer's state memory (MiB, as the paper's "Hessian" column); the failed (diverged) runs; and the seed-1
learning-rate grid behind the selection.

Usage: summarize_optim.py FILE.jsonl
"""
import os
import re
import statistics
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs import best_per_seed, read_failed, read_runs  # noqa: E402


STAGE_A_TAGS = {"sgd", "momentum", "lbfgs", "esgd", "adahessian", "kernel-sgd"}


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


def grid(path, failed):
    """Seed-1 validation accuracy of every run of the learning-rate sweep (stage a), row per optimizer (and
    Kernel SGD kernel), column per learning rate; 'div.' where the run diverged."""
    cells, lrs = OrderedDict(), set()
    for rec in read_runs(path):
        r = rec["result"]
        if r["seed"] != 1 or rec["tag"] not in STAGE_A_TAGS:
            continue
        row = rec["tag"] + (f" {r['kernel_sgd']['kernel']}" if r.get("kernel_sgd") else "")
        cells.setdefault(row, {})[r["lr"]] = f"{100 * r['validation_accuracy']:.2f}"
        lrs.add(r["lr"])
    for cmd in failed:
        m = re.search(r"--optimizer (\S+).* --lr (\S+) --seed 1$", cmd)
        k = re.search(r"--kernel (\S+)", cmd)
        ablation = "--kernel-sgd-" in cmd or "--batch-size 64 " not in cmd or (k and not k.group(1).startswith("rbf"))
        if not m or m.group(1) not in STAGE_A_TAGS or ablation:
            continue
        row = m.group(1) + (f" {k.group(1)}" if k else "")
        cells.setdefault(row, {})[float(m.group(2))] = "div."
        lrs.add(float(m.group(2)))
    lrs = sorted(lrs, reverse=True)
    print("| seed 1, validation acc. | " + " | ".join(f"lr {lr:g}" for lr in lrs) + " |")
    print("|---|" + "---|" * len(lrs))
    for row, c in cells.items():
        print(f"| {row} | " + " | ".join(c.get(lr, "–") for lr in lrs) + " |")


def main():
    failed = read_failed(sys.argv[1])
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
    # Commands: the part shared by all runs once, then each row's seed-1 flags (seeds 2, 3 differ only in --seed).
    commands = [rec["command"] for recs in tags.values() for rec in recs]
    prefix = os.path.commonprefix(commands)
    prefix = prefix[: prefix.rfind(" --") + 1] if " --" in prefix else ""
    print(f"Commands: `{prefix.strip()}` followed by")
    print()
    for tag, recs in tags.items():
        print(f"- {tag}: `{recs[0]['command'][len(prefix):]}`")
    if failed:
        print()
        print("Runs that failed (not in the table):")
        print()
        for cmd, err in failed.items():
            flags = cmd[len(prefix):] if cmd.startswith(prefix) else cmd
            print(f"- `{flags}`: {err.removeprefix('rkhs: error: ')}")
    print()
    grid(sys.argv[1], failed)

if __name__ == "__main__":
    main()
