#!/usr/bin/env python3
"""Paper 002 on Fashion-MNIST from bench/neuralef_fashion.sh's JSONL: Table 1 (logistic regression on the 10-D
projections; per tag the test accuracy mean +- std over seeds, the training accuracy, the learning time and, where
an exact reference exists, the alignment of the top eigenfunctions), the NTK K-means table and the linearised
Laplace table.
Usage: python3 bench/summarize_neuralef_fashion.py bench/results/neuralef_fashion.jsonl"""
import sys
from collections import OrderedDict

from runs import mean_std, read_failed, read_runs

NAMES = {
    "nystrom-polynomial": "Nyström, polynomial (0.001·xᵀx′ + 1)¹⁰, 6,000 images",
    "nystrom-rbf": "Nyström, RBF exp(−‖x − x′‖²/200), 6,000 images",
    "neuralef-cnngp": "NeuralEF, CNN-GP kernel (S = 1000), 10 MLPs 784-256-256-1, 6,000 images, 5000 it.",
    "neuralef-cnngp-rr": "NeuralEF, CNN-GP kernel (S = 1000), 10 MLPs 784-256-256-1, 6,000 images, 5000 it., then Rayleigh–Ritz (--rayleigh-ritz)",
    "neuralef-cnngp-cnn": "NeuralEF, CNN-GP kernel (S = 1000), 10 CNNs 8/16/64, 6,000 images, 2000 it.",
    "nystrom-cnngp": "Nyström, CNN-GP kernel (S = 1000), 6,000 images (LR on 10,000 training projections)",
}


def classes(tag, r):
    """The NTK pair, marked for the runs of part ntk-rr (same classifier with and without the rotation)."""
    if tag.endswith("-rr"):
        return r["ntk_classes"] + " (Rayleigh–Ritz)"
    if tag.endswith("-norr"):
        return r["ntk_classes"] + " (the Rayleigh–Ritz run's classifier, no rotation)"
    return r["ntk_classes"]


def pct(xs):
    return mean_std([100 * x for x in xs], 2)


def main(path):
    by_tag = OrderedDict()
    for rec in read_runs(path):
        by_tag.setdefault(rec["tag"], []).append(rec["result"])
    print("### Table 1: logistic regression on the top-10 projections (10,000 test images)\n")
    print("| method | seeds | test accuracy (%) | train accuracy (%) | learning time (s) | kernel features (s) | "
          "alignment j = 1..5 (seed 1) |")
    print("|---|---|---|---|---|---|---|")
    for tag, rs in by_tag.items():
        if "logistic_test_accuracy" not in rs[0]:
            continue
        al = rs[0].get("alignment")
        al = ", ".join(f"{a:.3f}" for a in al[:5]) if al else "no reference"
        feat = "-"
        if "features_seconds" in rs[0]:  # before 2026-12-01 a reference's features were not counted here
            feat = (mean_std([r["features_seconds"] for r in rs], 0) if rs[0]["features_seconds"] > 0.1
                    else "in the reference's %.0f s" % rs[0]["reference_seconds"])
        print(f"| {NAMES.get(tag, tag)} | {len(rs)} | {pct([r['logistic_test_accuracy'] for r in rs])} | "
              f"{pct([r['logistic_train_accuracy'] for r in rs])} | {mean_std([r['train_seconds'] for r in rs], 0)} | "
              f"{feat} | {al} |")
    ntk = [(tag, rs) for tag, rs in by_tag.items() if "kmeans_accuracy" in rs[0]]
    if ntk:
        print("\n### NTK of a two-class LeNet-5: K-means (2 clusters) on the held-out test images of the pair\n")
        print("| classes | seeds | classifier test acc. (%) | K-means on NeuralEF projections (%) | "
              "on projections × √μ (%) | on pixels (%) | NTK features (s) | NeuralEF (s) |")
        print("|---|---|---|---|---|---|---|---|")
        for tag, rs in ntk:
            print(f"| {classes(tag, rs[0])} | {len(rs)} | {pct([r['classifier_test_accuracy'] for r in rs])} | "
                  f"{pct([r['kmeans_accuracy'] for r in rs])} | {pct([r['kmeans_scaled_accuracy'] for r in rs])} | "
                  f"{pct([r['kmeans_pixels_accuracy'] for r in rs])} | "
                  f"{mean_std([r['features_seconds'] for r in rs], 0)} | {mean_std([r['train_seconds'] for r in rs], 0)} |")
    if ntk:
        print("\n### Linearised Laplace on the same classifiers (seed 1): the pair's test images (in) and the other "
              "classes' (out)\n")
        print("| classes | method | accuracy (%) | NLL | ECE | mean entropy in | mean entropy out | OOD AUROC (entropy) |")
        print("|---|---|---|---|---|---|---|---|")
        names = {"map": "MAP", "last-layer": "last-layer Laplace", "neuralef": "NeuralEF linearised Laplace (eq. 22)"}
        for tag, rs in ntk:
            # MAP and last-layer Laplace do not depend on the eigenfunctions: once per pair.
            for name in ("neuralef",) if tag.endswith("-rr") else ("map", "last-layer", "neuralef"):
                m = rs[0]["laplace"][name]
                print(f"| {classes(tag, rs[0])} | {names[name]} | {100 * m['accuracy']:.2f} | {m['nll']:.4f} | "
                      f"{m['ece']:.4f} | {m['entropy_in']:.4f} | {m['entropy_out']:.4f} | {m['ood_auroc']:.4f} |")
    for cmd, err in read_failed(path).items():
        print(f"\nFAILED: `{cmd}`: {err}")


if __name__ == "__main__":
    main(sys.argv[1])
