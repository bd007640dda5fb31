#!/usr/bin/env python3
"""Model selection on the validation split: for every (tag, seed) of a JSONL file of bench/results keeps the
run with the best validation accuracy and writes those runs as JSONL to stdout (for summarize.py).

Usage: select.py FILE.jsonl > FILE.selected.jsonl
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs import best_per_seed  # noqa: E402

for rec in best_per_seed(sys.argv[1]).values():
    print(json.dumps(rec))
