#!/usr/bin/env python3
"""Table of bench/compare_references.sh's records: per implementation the runs' wall-clock time, stage times and
test accuracy, the best (smallest) wall time of each, and the ratio of the best times (reference / rkhs).
Usage: python3 bench/summarize_compare.py bench/results/compare_references.jsonl"""
import json
import sys


def main(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    if not runs:
        sys.exit(f"summarize_compare: no records in {path}")
    machines = sorted({(r["cpu"], r["blas"], r["threads"]) for r in runs})
    for cpu, blas, threads in machines:
        print(f"Machine: {cpu}; BLAS {blas}; {threads} threads\n")
    print("| implementation | seed | wall (s) | k-means (s) | features (s) | classifier (s) | test accuracy (%) |")
    print("|---|---|---|---|---|---|---|")
    best = {}
    for r in runs:
        res = r["result"]
        print(f"| {r['tag']} | {r['seed']} | {r['wall_seconds']:.1f} | {res['kmeans_seconds']:.1f} | "
              f"{res['feature_seconds']:.1f} | {res['classifier_seconds']:.1f} | {100 * res['test_accuracy']:.2f} |")
        best[r["tag"]] = min(best.get(r["tag"], float("inf")), r["wall_seconds"])
    print()
    for tag, seconds in sorted(best.items()):
        print(f"- best wall time of {tag}: {seconds:.1f} s")
    for kind in sorted({t.split("-", 1)[1] for t in best}):
        ref, own = best.get("reference-" + kind), best.get("rkhs-" + kind)
        if ref and own:
            print(f"- {kind}: reference / rkhs = {ref / own:.2f} (best of each)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/compare_references.jsonl")
