#!/usr/bin/env python3
"""Tables of bench/compare_references.sh's records. CKN: per implementation the runs' wall-clock time, stage times
and test accuracy. NeuralEF: per implementation and N the training time each reports (the official routine's own
timer, from after its N x N kernel matrix to the last step; rkhs's `train_seconds`, the iterations with each batch's
kernel matrix), the process's wall time and the worst relative error of the top 5 eigenvalues (the official code's
training EMA; rkhs's default Rayleigh-Ritz estimates) where the exact ones were computed. Then the best time of each
implementation and the ratio of the best times (reference / rkhs): wall time for the CKN, training time for NeuralEF.
Usage: python3 bench/summarize_compare.py bench/results/compare_references.jsonl"""
import json
import sys


def worst_top5(values):
    if not values:
        return "—"
    top = [v for v in values[:5] if v is not None]
    return f"{100 * max(top):.2f}" if top else "—"


def ckn_table(runs, best):
    print("| implementation | seed | wall (s) | k-means (s) | features (s) | classifier (s) | test accuracy (%) |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        res = r["result"]
        print(f"| {r['tag']} | {r['seed']} | {r['wall_seconds']:.1f} | {res['kmeans_seconds']:.1f} | "
              f"{res['feature_seconds']:.1f} | {res['classifier_seconds']:.1f} | {100 * res['test_accuracy']:.2f} |")
        best[r["tag"]] = min(best.get(r["tag"], float("inf")), r["wall_seconds"])


def neuralef_table(runs, best):
    print("| implementation | N | seed | training (s) | wall (s) | worst error of the top 5 eigenvalues (%) |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        res = r["result"]
        print(f"| {r['tag'].rsplit('-', 1)[0]} | {res['n']} | {r['seed']} | {res['train_seconds']:.2f} | "
              f"{r['wall_seconds']:.1f} | {worst_top5(res.get('eigenvalue_rel_error'))} |")
        best[r["tag"]] = min(best.get(r["tag"], float("inf")), res["train_seconds"])


def main(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    if not runs:
        sys.exit(f"summarize_compare: no records in {path}")
    for cpu, blas, threads in sorted({(r["cpu"], r["blas"], r["threads"]) for r in runs}):
        print(f"Machine: {cpu}; BLAS {blas}; {threads} threads\n")
    best = {}
    ckn = [r for r in runs if r["tag"].endswith("-ckn")]
    neuralef = [r for r in runs if "-neuralef-" in r["tag"]]
    if ckn:
        ckn_table(ckn, best)
        print()
    if neuralef:
        neuralef_table(neuralef, best)
        print()
    for tag, seconds in sorted(best.items()):
        print(f"- best {'training' if '-neuralef-' in tag else 'wall'} time of {tag}: {seconds:.2f} s")
    for kind in sorted({t.split("-", 1)[1] for t in best}):
        ref, own = best.get("reference-" + kind), best.get("rkhs-" + kind)
        if ref and own:
            print(f"- {kind}: reference / rkhs = {ref / own:.2f} (best of each)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/compare_references.jsonl")
