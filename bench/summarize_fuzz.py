#!/usr/bin/env python3
"""The fuzzing table of docs/RESULTS.md from scripts/fuzz.sh's JSONL (one line per target run): the latest run of
each target, and every earlier run that had findings. Usage: python3 bench/summarize_fuzz.py bench/results/fuzz.jsonl"""
import json
import sys


def main(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    latest = {}
    for r in runs:
        latest[r["target"]] = r
    print("| target | seconds | executions | executions/s | corpus files | peak RSS (MB) | findings | slow units | date |")
    print("|---|---|---|---|---|---|---|---|---|")
    for t, r in latest.items():
        print(f"| {t} | {r['seconds']} | {r['executions']:,} | {r['executions'] / max(r['seconds'], 1):,.0f} | "
              f"{r['corpus_files']} | {r['peak_rss_mb']} | {r.get('findings', r.get('artifacts'))} | "
              f"{r.get('slow_units', 0)} | {r['date'][:10]} |")
    earlier = [r for r in runs if r is not latest[r["target"]] and (r.get("findings", r.get("artifacts", 0)) or r["exit_code"])]
    if earlier:
        print("\nEarlier runs with findings (fixed since; docs/HARDENING.md):")
        for r in earlier:
            print(f"- {r['target']}, {r['date'][:16]}: exit {r['exit_code']} after {r['seconds']} s "
                  f"({r['executions']:,} executions)")


if __name__ == "__main__":
    main(sys.argv[1])
