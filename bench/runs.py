"""Reading bench/results JSONL files: {"tag": ..., "command": ..., "result": {...}} per line."""
import json
from collections import OrderedDict


def best_per_seed(path):
    """For every (tag, seed), the record with the best validation accuracy (model selection on validation,
    never on test), in order of first appearance."""
    best = OrderedDict()
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            key = (rec["tag"], rec["result"]["seed"])
            old = best.get(key)
            if old is None or rec["result"]["validation_accuracy"] > old["result"]["validation_accuracy"]:
                best[key] = rec
    return best
