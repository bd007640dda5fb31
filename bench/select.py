#!/usr/bin/env python3
"""Model selection on the validation split: for every (tag, seed) of a JSONL file of bench/results keeps the
run with the best validation accuracy and writes those runs as JSONL to stdout (for summarize.py).

Usage: select.py FILE.jsonl > FILE.selected.jsonl
"""
import json
import sys

best = {}
order = []
with open(sys.argv[1]) as f:
    for line in f:
        if not line.strip():
            continue
        rec = json.loads(line)
        key = (rec["tag"], rec["result"]["seed"])
        if key not in best:
            order.append(key)
        if key not in best or rec["result"]["validation_accuracy"] > best[key]["result"]["validation_accuracy"]:
            best[key] = rec
for key in order:
    print(json.dumps(best[key]))
