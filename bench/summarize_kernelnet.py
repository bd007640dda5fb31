#!/usr/bin/env python3
"""Paper 004 Tables 3-4 layout from bench/kernelnet_movielens.sh's JSONL: per model and seed the run with the lowest
validation RMSE (lambda2 selected without the test set; runs without a validation set are taken as they are), then
test RMSE mean +- std over seeds (one random 90/10 split per seed), the selected lambda2 values, parameters, MACs
per prediction (10 observed inputs), non-zero weight fraction and training time.
With --best-loop, every AutoRec run is first replaced by its outer loop with the lowest validation RMSE (from the
run's history: what `rkhs recommend --keep-best` returns), so the loop count is chosen on validation too; the
parameter, MAC and non-zero columns stay those of the last loop.
Usage: python3 bench/summarize_kernelnet.py bench/results/kernelnet_dslabs.jsonl [--best-loop]"""
import statistics
import sys
from collections import OrderedDict

from runs import mean_std as fmt_mean, read_failed, read_runs

ORDER = ["bias", "autorec-1", "autorec-2", "kernelnet-1", "kernelnet-2", "sparse-fc-1", "sparse-fc-2"]
NAMES = {"bias": "user+item bias (λ on validation)", "autorec-1": "I-AutoRec (1)", "autorec-2": "I-AutoRec (2)",
         "kernelnet-1": "I-KernelNet (1), tanh, d=50", "kernelnet-2": "I-KernelNet (2), tanh, d=50",
         "sparse-fc-1": "Sparse FC (1), d=5", "sparse-fc-2": "Sparse FC (2), d=5"}


def at_best_loop(r):
    """The run as --keep-best would have returned it: the history entry with the lowest validation RMSE."""
    h = [x for x in r.get("history", []) if x.get("validation_rmse") is not None]
    if not h:
        return r
    b = min(h, key=lambda x: x["validation_rmse"])
    return dict(r, validation_rmse=b["validation_rmse"], test_rmse=b["test_rmse"], train_rmse=b["train_rmse"],
                loop=b["loop"])


def main(path, best_loop=False):
    best = OrderedDict()
    for rec in read_runs(path):
        r = at_best_loop(rec["result"]) if best_loop else rec["result"]
        key = (rec["tag"], r["seed"])
        old = best.get(key)
        v = r.get("validation_rmse")
        if old is None or (v is not None and old.get("validation_rmse") is not None and v < old["validation_rmse"]):
            best[key] = r
    by_tag = OrderedDict()
    for (tag, _), r in best.items():
        by_tag.setdefault(tag, []).append(r)
    tags = [t for t in ORDER if t in by_tag] + [t for t in by_tag if t not in ORDER]
    print("| model | seeds | λ₂ (/λ_s) selected | loop | validation RMSE | test RMSE | train RMSE | parameters | MACs | non-zero weights | time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in tags:
        rs = by_tag[t]
        nz = "—"
        if "weights" in rs[0]:
            nz = fmt_mean([100.0 * r["nonzero_weights"] / r["weights"] for r in rs], 1) + " %"
        lam = ",".join(str(r.get("lambda2", r.get("lambda", "—"))) + (f"/{r['lambda_s']}" if "lambda_s" in r else "")
                       for r in rs)
        val = fmt_mean([r["validation_rmse"] for r in rs]) if all(r.get("validation_rmse") is not None for r in rs) else "—"
        # The returned model's outer loop (runs written before the "loop" key existed returned the last one).
        loops = ",".join(str(r.get("loop", r.get("outer_loops", "—"))) for r in rs)
        print(f"| {NAMES.get(t, t)} | {','.join(str(r['seed']) for r in rs)} | {lam} | {loops} | {val} | {fmt_mean([r['test_rmse'] for r in rs])} | "
              f"{fmt_mean([r['train_rmse'] for r in rs])} | {fmt_mean([r['parameters'] for r in rs], 0)} | "
              f"{fmt_mean([r['macs'] for r in rs], 0)} | {nz} | {fmt_mean([r['train_seconds'] for r in rs], 0)} |")
    cold = [r["cold_start_test"] / r["test_ratings"] for rs in by_tag.values() for r in rs]
    if cold:
        print(f"\nTest ratings on movies without a training rating: {100 * statistics.mean(cold):.1f} % on average.")
    # Every sparse FC setting tried, averaged over the seeds that ran it (the selection above used validation only).
    grid = OrderedDict()
    for rec in read_runs(path):
        r = rec["result"]
        if "lambda_s" in r and r.get("validation_rmse") is not None:
            grid.setdefault((r.get("layers"), r.get("lambda2"), r["lambda_s"]), []).append(r)
    if grid:
        print("\nSparse FC runs (every λ₂/λ_s tried, mean over the seeds that ran it):\n")
        print("| hidden layers | λ₂ | λ_s | seeds | validation RMSE | test RMSE | non-zero connections |")
        print("|---|---|---|---|---|---|---|")
        for (layers, l2, ls), rs in sorted(grid.items(), key=lambda kv: tuple(x if x is not None else -1 for x in kv[0])):
            nz = fmt_mean([100.0 * r["nonzero_weights"] / r["weights"] for r in rs], 1)
            print(f"| {layers} | {l2} | {ls} | {','.join(str(r['seed']) for r in rs)} | "
                  f"{fmt_mean([r['validation_rmse'] for r in rs])} | {fmt_mean([r['test_rmse'] for r in rs])} | {nz} % |")
    failed = read_failed(path)
    if failed:
        print("\nFailed runs:")
        for cmd, err in failed.items():
            print(f"- `{cmd}`: {err}")


if __name__ == "__main__":
    main(sys.argv[1], "--best-loop" in sys.argv[2:])
