#!/usr/bin/env python3
"""Test RMSE by the item's number of training ratings, for the predictions.csv files that `rkhs recommend --out DIR`
writes (same split: same data, --seed and --validation-fraction). Shows where one model beats another.
Usage: python3 bench/rmse_by_popularity.py NAME=DIR/predictions.csv NAME=DIR/predictions.csv ..."""
import csv
import math
import sys

BINS = [(0, 0), (1, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, None)]


def label(lo, hi):
    return f"{lo}" if hi == lo else (f"{lo}+" if hi is None else f"{lo}–{hi}")


def main(specs):
    models, keys = [], None
    for spec in specs:
        name, path = spec.split("=", 1)
        with open(path) as f:
            rows = list(csv.DictReader(f))
        k = [(r["user_id"], r["item_id"]) for r in rows]
        if keys is None:
            keys = k
        elif k != keys:
            sys.exit(f"{path}: not the same test ratings as {specs[0].split('=', 1)[1]} (same data, seed and split?)")
        models.append((name, rows))
    first = models[0][1]
    print("| item's training ratings | test ratings | " + " | ".join(f"{n} RMSE" for n, _ in models) + " |")
    print("|---|---|" + "---|" * len(models))
    for lo, hi in BINS + [(None, None)]:
        idx = [i for i, r in enumerate(first)
               if lo is None or (int(r["item_train_ratings"]) >= lo and (hi is None or int(r["item_train_ratings"]) <= hi))]
        if not idx:
            continue
        cells = []
        for _, rows in models:
            se = sum((float(rows[i]["prediction"]) - float(rows[i]["rating"])) ** 2 for i in idx)
            cells.append(f"{math.sqrt(se / len(idx)):.4f}")
        name = "all" if lo is None else label(lo, hi)
        print(f"| {name} | {len(idx)} ({100 * len(idx) / len(first):.1f} %) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
