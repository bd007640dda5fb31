#!/usr/bin/env python3
"""The CKN table (paper 003, issue 5) from bench/ckn_fashion.sh's JSONL: per tag the test and training accuracy
(mean +- std over seeds), the cross-validated lambda of each seed, the feature dimension and the times (training,
and end to end: loading, training, scoring the test set).
Usage: python3 bench/summarize_ckn.py bench/results/ckn_fashion.jsonl"""
import sys
from collections import OrderedDict

from runs import mean_std, read_failed, read_runs

NAMES = {
    "5k-ckn-3layer": "CKN 3 layers 64/64/128, sub. 2/2/2, σ 0.6 (5,000 train)",
    "5k-ckn-3layer-hinge": "CKN 3 layers 64/64/128, squared hinge classifier (5,000 train)",
    "5k-ckn-3layer-supervised": "CKN 3 layers 64/64/128, supervised 8 epochs (5,000 train)",
    "5k-ckn-3layer-supervised-holdout": "CKN 3 layers 64/64/128, supervised 8 epochs, epoch chosen on a 20% hold-out (5,000 train)",
    "5k-ckn-2layer": "CKN 2 layers 32/32, sub. 2/6, σ 1/√3 (5,000 train)",
    "5k-linear": "linear on pixels (5,000 train)",
    "5k-rbf": "RBF on pixels, Nyström 2048 (5,000 train)",
    "full-ckn-3layer": "CKN 3 layers 64/64/128, unsupervised (60,000 train)",
    "full-ckn-3layer-supervised": "CKN 3 layers 64/64/128, supervised 8 epochs, lr 0.01: diverged (60,000 train)",
    "full-ckn-3layer-supervised-adam": "CKN 3 layers 64/64/128, supervised 8 epochs, Adam lr 0.001 (→ 0.0001 by the guard), λ 1e-5 fixed (60,000 train)",
    "full-ckn-2layer": "CKN 2 layers 32/32, sub. 2/6, σ 1/√3, unsupervised (60,000 train)",
    "full-ckn-2layer-wide": "CKN 2 layers 128/256, sub. 2/6, σ 1/√3, unsupervised (60,000 train)",
    "full-ckn-2layer-wider": "CKN 2 layers 256/512, sub. 2/6, σ 1/√3, unsupervised (60,000 train)",
    "full-ckn-2layer-wider-sub4": "CKN 2 layers 256/512, sub. 2/4, σ 1/√3, unsupervised (60,000 train)",
    "full-ckn-2layer-wider-sub4-supervised-adam": "CKN 2 layers 256/512, sub. 2/4, supervised 3 epochs, Adam lr 1e-4, λ 1e-4 fixed (60,000 train)",
    "full-ckn-3layer-lbfgs1000": "CKN 3 layers 64/64/128, unsupervised, λ 1e-5 fixed, 1000 L-BFGS it. (60,000 train)",
    "full-linear": "linear on pixels (60,000 train)",
    "full-rbf": "RBF on pixels, Nyström 2048 (60,000 train)",
    "full-ckn-3layer-wide": "CKN 3 layers 128/128/256, unsupervised (60,000 train)",
}


def fmt(xs, scale=100, digits=2):
    return mean_std([x * scale for x in xs], digits)


def main(path):
    by_tag = OrderedDict()
    for rec in read_runs(path):
        by_tag.setdefault(rec["tag"], []).append(rec["result"])
    print("| features | seeds | test accuracy (%) | train accuracy (%) | λ (CV) | feature dim | train time (s) | end to end (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for tag, rs in by_tag.items():
        lambdas = ", ".join(f"{r['lambda']:g}" for r in rs)
        print(f"| {NAMES.get(tag, tag)} | {len(rs)} | {fmt([r['test_accuracy'] for r in rs])} | "
              f"{fmt([r['train_accuracy'] for r in rs])} | {lambdas} | {rs[0]['feature_dim']} | "
              f"{fmt([r['train_seconds'] for r in rs], 1, 1)} | {fmt([r['total_seconds'] for r in rs], 1, 1)} |")
    for cmd, err in read_failed(path).items():
        print(f"\nFAILED: `{cmd}`: {err}")


if __name__ == "__main__":
    main(sys.argv[1])
