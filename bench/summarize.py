#!/usr/bin/env python3
"""Turns the JSONL files of bench/results into Markdown tables (mean ± std over seeds).

Usage: summarize.py FILE.jsonl [--key test_accuracy] [--rows tag-part-index] ...
Each line is {"tag": "row|column", "command": ..., "result": {...}}; rows and columns come from the tag.
"""
import json
import statistics
import sys
from collections import OrderedDict


def main():
    path = sys.argv[1]
    key = sys.argv[2] if len(sys.argv) > 2 else "test_accuracy"
    scale = 100.0 if "accuracy" in key else 1.0
    cells = OrderedDict()
    cols = []
    extra = {}
    commands = OrderedDict()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            row, col = (rec["tag"].split("|") + [""])[:2]
            if col not in cols:
                cols.append(col)
            cells.setdefault(row, OrderedDict()).setdefault(col, []).append(rec["result"][key] * scale)
            if "bayes_accuracy" in rec["result"]:
                extra.setdefault(row, []).append(rec["result"]["bayes_accuracy"] * 100)
            commands.setdefault((row, col), rec["command"])
    header = "| | " + " | ".join(c or key for c in cols) + (" | Bayes (exact) |" if extra else " |")
    print(header)
    print("|---" * (len(cols) + 1 + (1 if extra else 0)) + "|")
    for row, byc in cells.items():
        out = []
        for c in cols:
            v = byc.get(c, [])
            if not v:
                out.append("–")
            elif len(v) == 1:
                out.append(f"{v[0]:.2f} (1 run)")
            else:
                out.append(f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f} ({len(v)})")
        if extra:
            b = extra.get(row, [])
            out.append(f"{statistics.mean(b):.2f}" if b else "–")
        print(f"| {row} | " + " | ".join(out) + " |")
    print()
    print("Commands (one seed shown; the others differ only in `--seed`):")
    print()
    for (row, col), cmd in commands.items():
        if "--seed 1 " in cmd + " " or "--seed" not in cmd:
            print(f"- `{cmd}`")


if __name__ == "__main__":
    main()
