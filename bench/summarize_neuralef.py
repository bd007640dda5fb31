#!/usr/bin/env python3
"""NeuralEF vs Nystrom (paper 002, Figure 2 and the issue's 1-D targets) from bench/neuralef_1d.sh's JSONL: per tag
and N, the eigenvalue relative error and the alignment with the exact eigenfunctions for j = 1..k (mean over
seeds; "-" where the reference eigenvalue is numerically zero or there is no reference), and the training time.
Usage: python3 bench/summarize_neuralef.py bench/results/neuralef_1d.jsonl"""
import statistics
import sys
from collections import OrderedDict

from runs import mean_std, read_failed, read_runs


def mean_col(rows, key, j):
    xs = [r[key][j] for r in rows if r.get(key) is not None and r[key][j] is not None]
    return statistics.mean(xs) if xs else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def table(groups, key, title):
    """One row per (tag, N) with a reference: the mean over seeds of result[key][j] for every j."""
    print(title + "\n")
    print("| method | N | seeds | " + " | ".join(str(j) for j in range(1, 11)) + " |")
    print("|---|---|---|" + "---|" * 10)
    for (tag, n), rows in groups.items():
        if rows[0].get(key) is None:
            continue
        k = len(rows[0]["eigenvalues"])
        print(f"| {tag} | {n} | {len(rows)} | " + " | ".join(fmt(mean_col(rows, key, j), ".4f") for j in range(k)) + " |")


def main(path):
    groups = OrderedDict()
    for rec in read_runs(path):
        r = rec["result"]
        groups.setdefault((rec["tag"], r["n"]), []).append(r)
    table(groups, "eigenvalue_rel_error", "### Eigenvalue relative error (mean over seeds), j = 1..10")
    table(groups, "alignment", "\n### Alignment |cos| with the exact eigenfunctions on 1000 held-out points (mean over seeds)")
    print("\n### Training time (s; NeuralEF: 2000 iterations unless the tag says otherwise; Nystrom: kernel matrix + eigendecomposition)\n")
    print("| method | N | seeds | time (s) |")
    print("|---|---|---|---|")
    for (tag, n), rows in groups.items():
        print(f"| {tag} | {n} | {len(rows)} | {mean_std([r['train_seconds'] for r in rows], 2)} |")
    select = [(tag, rows) for (tag, n), rows in groups.items() if tag.startswith("select-")]
    if select:
        print("\n### Learning rate chosen without the reference (RBF, N = 2048, k = 10)\n")
        print("The captured trace (Σ_j q_jᵀKq_j/n² of the orthonormalised functions, ≤ μ_1 + … + μ_10 by Ky Fan) needs "
              "no reference; the errors are the outcome.\n")
        print("| run | seeds | captured trace | reference trace | max rel. error j ≤ 5 | alignment j = 5 (min) | time (s) |")
        print("|---|---|---|---|---|---|---|")
        for tag, rows in select:
            worst = [max(r["eigenvalue_rel_error"][:5]) for r in rows]
            print(f"| {tag} | {len(rows)} | {mean_std([r['captured_trace'] for r in rows], 5)} | "
                  f"{rows[0]['reference_trace']:.5f} | {mean_std(worst, 4)} | "
                  f"{min(r['alignment'][4] for r in rows):.4f} | {mean_std([r['train_seconds'] for r in rows], 2)} |")
    recon = [(tag, n, rows) for (tag, n), rows in groups.items() if rows[0].get("reconstruction_error") is not None]
    if recon:
        print("\n### Reconstruction of the held-out kernel matrix: ||K - Psi diag(mu) Psi^T||_F / ||K||_F (k = 10; mean over seeds)\n")
        print("| method | N | seeds | reconstruction error | best rank-10 (Eckart-Young) |")
        print("|---|---|---|---|---|")
        for tag, n, rows in recon:
            rec = [r["reconstruction_error"] for r in rows]
            best = [r["best_rank_k_error"] for r in rows]
            print(f"| {tag} | {n} | {len(rows)} | {statistics.mean(rec):.2e} (max {max(rec):.2e}) | "
                  f"{statistics.mean(best):.2e} |")
    target = [(tag, rows) for (tag, n), rows in groups.items()
              if n == 2048 and tag in ("neuralef-rbf", "neuralef-rbf-8000it", "neuralef-rbf-rr")]
    if target:
        print("\n### The 1-D RBF target (N = 2048, k = 10): every eigenpair >= 1% of the largest (j <= 5) within 3%, "
              "alignment >= 0.99 (j <= 3) and >= 0.95 (j <= 5)\n")
        print("| run | seed | max rel. error j <= 5 | min alignment j <= 3 | min alignment j <= 5 | met | "
              "training + Rayleigh (s) |")
        print("|---|---|---|---|---|---|---|")
        for tag, rows in target:
            for r in rows:
                err = max(r["eigenvalue_rel_error"][:5])
                a3, a5 = min(r["alignment"][:3]), min(r["alignment"][:5])
                met = "yes" if err <= 0.03 and a3 >= 0.99 and a5 >= 0.95 else "no"
                print(f"| {tag} | {r['seed']} | {err:.4f} | {a3:.4f} | {a5:.4f} | {met} | "
                      f"{r['train_seconds'] + r.get('rayleigh_seconds', 0):.2f} |")
    for cmd, err in read_failed(path).items():
        print(f"\nFAILED: `{cmd}`: {err}")


if __name__ == "__main__":
    main(sys.argv[1])
