#!/usr/bin/env python3
"""Successive halving written out over recorded full-length runs (issue 26): for each seed of a Table 1 sweep
(bench/table1_sphere.sh, every KCL candidate trained in full with per-epoch validation accuracy in its history),
which candidate would halving keep, and what is its test accuracy, beside the candidate that validation selects
from the complete runs (bench/select.py's rule). Halving keeps the better half (rounded up) at each rung and one at
the last; a candidate is scored by its validation accuracy at the rung's epoch ("at") or its best up to it ("best").
The rungs are those of `rkhs classify`'s search for the number of candidates (E/2, E/4, ... one per halving,
rounded down, at least 1), or RUNGS given as comma-separated epochs.

Usage: python3 bench/halving_check.py [bench/results/table1_sphere.jsonl] [--rungs 7,15,30]"""
import argparse
import json
import math
from collections import defaultdict


def rungs_for(n, epochs):
    halvings, k = 0, n
    while k > 1:
        k, halvings = (k + 1) // 2, halvings + 1
    return [max(1, epochs >> i) for i in range(halvings, 0, -1)]


def halve(runs, rungs, score):
    alive = list(range(len(runs)))
    for rung in rungs:
        alive.sort(key=lambda i: -score(runs[i]["history"][:rung]))  # stable: ties keep the grid order
        alive = alive[: (len(alive) + 1) // 2]
    return alive[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("path", nargs="?", default="bench/results/table1_sphere.jsonl")
    p.add_argument("--rungs", default="")
    a = p.parse_args()
    by_seed = defaultdict(list)
    for line in open(a.path):
        res = json.loads(line)["result"]
        if res["config"]["head"] == "kernelized":
            by_seed[res["config"]["seed"]].append(res)
    scores = {"at": lambda h: h[-1]["validation_accuracy"], "best": lambda h: max(e["validation_accuracy"] for e in h)}
    print("| seed | selected from complete runs | halving, score at the rung | halving, best so far |")
    print("|---|---|---|---|")
    totals = defaultdict(float)
    for seed, runs in sorted(by_seed.items()):
        epochs = runs[0]["epochs"]
        rungs = [int(r) for r in a.rungs.split(",")] if a.rungs else rungs_for(len(runs), epochs)
        full = max(range(len(runs)), key=lambda i: (runs[i]["validation_accuracy"], -i))
        cells = []
        for name, i in [("full", full)] + [(k, halve(runs, rungs, f)) for k, f in scores.items()]:
            c = runs[i]["config"]
            totals[name] += 100 * runs[i]["test_accuracy"] / len(by_seed)
            cells.append(f"{100 * runs[i]['test_accuracy']:.2f} ({c['activation']}, {c['lr']:g})")
        print(f"| {seed} | " + " | ".join(cells) + " |")
    print(f"| mean | {totals['full']:.2f} | {totals['at']:.2f} | {totals['best']:.2f} |")
    print(f"\nrungs: {a.rungs or 'per seed: ' + ','.join(map(str, rungs_for(len(runs), epochs)))}")


if __name__ == "__main__":
    main()
