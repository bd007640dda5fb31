"""The measurement behind reverting classify's length check (docs/RESULTS.md, "Commands at their defaults"; commits
e34e682 and its revert a11fba4). The check trained both the unraised 10 epochs and the step floor's raised epochs at
the chosen rate and kept the raised ones only when their validation NLL was lower; its runs record both lengths and
validation scores in `lr_search`. This script reruns every such run at its other length (the chosen rate and KCL
activation fixed) and prints the mean test accuracy of four rules per run tag: always 10 epochs, always the raised
epochs, the NLL check, and an accuracy-first check.

To reproduce: build e34e682 (`git worktree add /tmp/lc e34e682 && make -C /tmp/lc build`), run
`RKHS=/tmp/lc/build/rkhs OUT=/tmp/lc.jsonl PARTS="small csv" SEEDS="1 2 3 4 5 6 7 8 9 10" bash bench/defaults.sh`,
then `python3 bench/length_check.py /tmp/lc.jsonl /tmp/lc/build/rkhs` (about 300 short runs).
"""
import collections
import json
import shlex
import statistics
import subprocess
import sys


def rerun_other_length(record, rkhs):
    res = record["result"]
    chosen, (short, long_) = res["chosen"], res["lr_search"]["lengths"]
    other = short if chosen["epochs"] == long_ else long_
    cmd = shlex.split(record["command"])[1:] + ["--epochs", str(other), "--lr", repr(chosen["lr"]), "--json"]
    if "activation" in chosen:
        cmd += ["--activation", chosen["activation"]]
    out = subprocess.run([rkhs] + cmd, capture_output=True, text=True, check=True).stdout
    return {chosen["epochs"]: res["test_accuracy"], other: json.loads(out.strip().splitlines()[-1])["test_accuracy"]}


def rules(record):
    s = record["result"]["lr_search"]
    (short, long_), nll, acc = s["lengths"], s["length_validation_nll"], s["length_validation_accuracy"]
    by_nll = long_ if nll[1] is not None and (nll[0] is None or nll[1] < nll[0]) else short
    if acc[1] is None or acc[0] is None:
        by_acc = long_ if acc[0] is None and acc[1] is not None else short
    else:
        by_acc = long_ if acc[1] > acc[0] or (acc[1] == acc[0] and nll[1] < nll[0]) else short
    return {"always 10": short, "always raised": long_, "NLL check": by_nll, "accuracy check": by_acc}


def main(path, rkhs):
    by_tag = collections.defaultdict(list)
    for line in open(path):
        r = json.loads(line)
        if len((r["result"].get("lr_search") or {}).get("lengths") or []) == 2:
            acc = rerun_other_length(r, rkhs)
            by_tag[r["tag"]].append({rule: acc[e] for rule, e in rules(r).items()})
    names = ["always 10", "always raised", "NLL check", "accuracy check"]
    print("| tag | seeds | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    means = collections.defaultdict(list)
    for tag, rows in by_tag.items():
        m = {n: 100 * statistics.mean(r[n] for r in rows) for n in names}
        for n in names:
            means[n].append(m[n])
        print(f"| {tag} | {len(rows)} | " + " | ".join(f"{m[n]:.2f}" for n in names) + " |")
    print(f"| mean over {len(by_tag)} tags | | " + " | ".join(f"{statistics.mean(means[n]):.2f}" for n in names) + " |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
