"""Reading bench/results JSONL files: {"tag": ..., "command": ..., "result": {...}} per line, and the
.failed.tsv next to them (command TAB error line)."""
import json
import os
from collections import OrderedDict


def read_runs(path):
    """The records of a JSONL file, in order."""
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def read_failed(path):
    """{command: error line} of the runs of PATH (a .jsonl) that failed, in order, duplicates folded."""
    failed = OrderedDict()
    failed_path = path.removesuffix(".jsonl") + ".failed.tsv"
    if os.path.exists(failed_path):
        with open(failed_path) as f:
            for line in f:
                if "\t" in line:
                    cmd, err = line.rstrip("\n").split("\t", 1)
                    failed[cmd] = err
    return failed


def best_per_seed(path):
    """For every (tag, seed), the record with the best validation accuracy (model selection on validation,
    never on test), in order of first appearance."""
    best = OrderedDict()
    for rec in read_runs(path):
        key = (rec["tag"], rec["result"]["seed"])
        old = best.get(key)
        if old is None or rec["result"]["validation_accuracy"] > old["result"]["validation_accuracy"]:
            best[key] = rec
    return best


def mean_std(xs, digits=4):
    """"m" for one value, "mean ± std" (sample std) for several, with `digits` decimals."""
    import statistics
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{statistics.mean(xs):.{digits}f} ± {statistics.stdev(xs):.{digits}f}"
