#!/usr/bin/env python3
"""Tables of bench/defaults.sh: each command at its defaults beside its simplest baseline, per seed and as
mean ± std over seeds. Usage: python3 bench/summarize_defaults.py FILE.jsonl [FILE.jsonl ...]"""
import sys
from collections import OrderedDict

from runs import mean_std, read_failed, read_runs


def collect(paths):
    by_tag = OrderedDict()
    for path in paths:
        for rec in read_runs(path):
            by_tag.setdefault(rec["tag"], {})[rec["result"]["seed"]] = rec["result"]
    return by_tag


def fmt_c(c):
    return "inf" if c == "inf" else f"{c:g}"


def recommend(by_tag):
    bias, default = by_tag.get("recommend-bias", {}), by_tag.get("recommend-default", {})
    seeds = sorted(set(bias) & set(default))
    if not seeds:
        return
    print("| seed | bias model | default (shrunk) | autoencoder alone | λ₂ chosen (path) | c chosen | default − bias | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for s in seeds:
        d, b = default[s], bias[s]
        path = ", ".join(f"{g:g}: {v:.4f}" for g, v in zip(d["lambda2_search"]["tried"], d["lambda2_search"]["validation_rmse"]))
        print(f"| {s} | {b['test_rmse']:.4f} | {d['test_rmse']:.4f} | {d['autoencoder_test_rmse'] or d['test_rmse']:.4f} | "
              f"{d['lambda2']:g} ({path}) | {fmt_c(d['shrink'])} | {d['test_rmse'] - b['test_rmse']:+.4f} | {d['train_seconds']:.0f} |")
    print(f"| mean | {mean_std([bias[s]['test_rmse'] for s in seeds])} | {mean_std([default[s]['test_rmse'] for s in seeds])} | "
          f"{mean_std([default[s]['autoencoder_test_rmse'] or default[s]['test_rmse'] for s in seeds])} | | | "
          f"{mean_std([default[s]['test_rmse'] - bias[s]['test_rmse'] for s in seeds])} | "
          f"{mean_std([default[s]['train_seconds'] for s in seeds], 0)} |")
    print()


def eigen(by_tag):
    rows = [(t, r) for t in ("eigen-default", "eigen-nystrom") for r in by_tag.get(t, {}).values()]
    if not rows:
        return
    print("| run | seed | worst eigenvalue error of the top 5 | lowest alignment of the top 5 | time (s) |")
    print("|---|---|---|---|---|")
    for t, r in rows:
        print(f"| {t} | {r['seed']} | {100 * max(r['eigenvalue_rel_error'][:5]):.2f} % | {min(r['alignment'][:5]):.4f} | "
              f"{r.get('train_seconds', 0):.1f} |")
    print()


def classify(by_tag):
    tags = [t for t in by_tag if t.startswith("classify-")]
    if not tags:
        return
    print("| run | seeds | test accuracy (%) | lr (and KCL activation) chosen per seed | search + training time (s) |")
    print("|---|---|---|---|---|")
    for t in tags:
        rs = [by_tag[t][s] for s in sorted(by_tag[t])]
        chosen = ", ".join(f"{r['lr']:.3g}" + (f" {r['chosen']['activation']}" if "activation" in r.get("chosen", {})
                                                else "") for r in rs)
        times = [r["train_seconds"] + (r.get("lr_search_seconds") or 0) for r in rs]
        print(f"| {t} | {','.join(str(r['seed']) for r in rs)} | {mean_std([100 * r['test_accuracy'] for r in rs], 2)} | "
              f"{chosen} | {mean_std(times, 2)} |")
    print()
    # The same runs' epochs trained (after the step floor) and their time split into the search and the final model's
    # own training (its whole run); the cost in runs is their sum over the final model's training.
    print("| run | epochs per seed | search (s) | training (s) | cost (runs) |")
    print("|---|---|---|---|---|")
    for t in tags:
        rs = [by_tag[t][s] for s in sorted(by_tag[t])]
        epochs = ", ".join(sorted({str(r["epochs"]) for r in rs}))
        runs = [1 + (r.get("lr_search_seconds") or 0) / r["train_seconds"] for r in rs if r["train_seconds"] > 0]
        print(f"| {t} | {epochs} | {mean_std([r.get('lr_search_seconds') or 0 for r in rs], 1)} | "
              f"{mean_std([r['train_seconds'] for r in rs], 1)} | {mean_std(runs, 2)} |")
    print()


def kcl_grid(by_tag):
    tags = [t for t in by_tag if t.startswith("kcl-grid|")]
    if not tags:
        return
    print("| activation | lr | seeds | validation accuracy (%) | test accuracy (%) |")
    print("|---|---|---|---|---|")
    for t in tags:
        _, act, lr = t.split("|")
        rs = list(by_tag[t].values())
        print(f"| {act} | {lr} | {','.join(str(r['seed']) for r in rs)} | "
              f"{mean_std([100 * r['validation_accuracy'] for r in rs], 2)} | {mean_std([100 * r['test_accuracy'] for r in rs], 2)} |")
    print()


def main(paths):
    by_tag = collect(paths)
    recommend(by_tag)
    eigen(by_tag)
    classify(by_tag)
    kcl_grid(by_tag)
    for path in paths:
        for cmd, err in read_failed(path).items():
            print(f"- failed: `{cmd}`: {err}")


if __name__ == "__main__":
    main(sys.argv[1:])
