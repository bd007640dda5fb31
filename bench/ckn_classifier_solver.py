#!/usr/bin/python3
"""Issue 27: how far from its optimum the CKN classifier's L-BFGS gets in a given number of iterations, for the
solver rkhs used before (plain L-BFGS on the standardised features, one fold and one lambda at a time, lambdas
from large to small with warm starts) and for the one it uses now (every fold and lambda in one L-BFGS run, in
the preconditioned coordinates of src/linear/logistic.cpp). Both minimise the same objectives (3 folds x 4
lambdas, features standardised with all training rows' statistics), written here in PyTorch with the same
L-BFGS settings as the C++ code (history 10, strong Wolfe, float32); the optimum of each problem comes from the
preconditioned joint run in float64 with 1,500 iterations.

Features: the 5,000-image Fashion-MNIST subset of bench/ckn_fashion.sh through a 3-layer 64/64/128 CKN fitted
by rkhs.nn.CKN.fit_unsupervised (seed 1). Prints, per solver and iteration count, the largest gap to the
optimum over the folds for each lambda, and the held-out accuracies.

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/ckn_classifier_solver.py   (about 5 minutes on 2 cores)
"""
import gzip
import sys

import numpy as np
import torch

import rkhs.nn

torch.set_num_threads(2)
DATA = "/usr/share/datasets/fashion-mnist/"
LAMBDAS = [0.1, 0.01, 0.001, 0.0001]
FOLDS, CURVATURE, HISTORY = 3, 0.1, 10


def features():
    with gzip.open(DATA + "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32)
    with gzip.open(DATA + "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    rng = np.random.default_rng(1)
    idx = np.concatenate([rng.choice(np.where(y == c)[0], 500, replace=False) for c in range(10)])
    x = torch.from_numpy(x[idx].copy())
    x = (x - x.mean((1, 2, 3), keepdim=True)) / x.std((1, 2, 3), keepdim=True, unbiased=False)
    net = rkhs.nn.CKN(1, (64, 64, 128), 3, 2, 0.6)
    net.fit_unsupervised(x, seed=1)
    with torch.no_grad():
        return torch.cat([net.features(x[i:i + 500]) for i in range(0, len(x), 500)]), torch.from_numpy(y[idx])


def lbfgs(params, closure, iterations, marks, after):
    opt = torch.optim.LBFGS(params, lr=1, max_iter=1, history_size=HISTORY, tolerance_grad=0, tolerance_change=0,
                            line_search_fn="strong_wolfe")
    out = {}
    for it in range(1, iterations + 1):
        opt.step(closure(opt))
        if it in marks:
            out[it] = after()
    return out


def main():
    f, y = features()
    n, d = f.shape
    z = (f - f.mean(0)) / f.std(0, unbiased=False).clamp_min(1e-8)
    e, rot = torch.linalg.eigh(z.double().t() @ z.double() / n)
    e = e.clamp_min(0)
    fold = torch.empty(n, dtype=torch.long)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    for k in range(FOLDS):
        fold[perm[k * n // FOLDS:(k + 1) * n // FOLDS]] = k
    lam = torch.tensor(LAMBDAS * FOLDS, dtype=torch.float64)  # problem k * 4 + l
    mask = torch.stack([fold != k for k in range(FOLDS)], 1).double().repeat_interleave(len(LAMBDAS), 1)
    problems = FOLDS * len(LAMBDAS)

    def per_problem(zz, w, b, dt):  # w (P, 10, D), b (P, 10): every problem's objective, (P,)
        logits = torch.einsum("nd,pcd->npc", zz, w) + b
        ce = logits.logsumexp(2) - logits.gather(2, y.view(n, 1, 1).expand(n, problems, 1)).squeeze(2)
        m = mask.to(dt)
        return (ce * m).sum(0) / m.sum(0) + 0.5 * lam.to(dt) * w.square().sum((1, 2))

    def joint(dt, iterations, marks):
        zz = (z.double() @ rot).to(dt)
        s = (CURVATURE * e[None, :] + lam[:, None]).rsqrt().to(dt)[:, None, :]
        v = torch.zeros(problems, 10, d, dtype=dt, requires_grad=True)
        b = torch.zeros(problems, 10, dtype=dt, requires_grad=True)

        def closure(opt):
            def c():
                opt.zero_grad()
                loss = per_problem(zz, v * s, b, dt).sum()
                loss.backward()
                return loss
            return c
        return lbfgs([v, b], closure, iterations, marks,
                     lambda: (per_problem(zz.double(), (v * s).detach().double(), b.detach().double(), torch.float64),
                              held_out(zz, (v * s).detach(), b.detach())))

    def held_out(zz, w, b):
        right = (torch.einsum("nd,pcd->npc", zz, w) + b).argmax(2).eq(y[:, None]) & (mask == 0)
        return (right.sum(0).view(FOLDS, -1).sum(0).double() / n).tolist()

    def one_at_a_time(iterations, marks):  # the former solver, the same objectives
        zz = z
        results = {m: (torch.zeros(problems, dtype=torch.float64), [0.0] * len(LAMBDAS)) for m in marks}
        for k in range(FOLDS):
            rows = fold != k
            w = torch.zeros(10, d, requires_grad=True)
            b = torch.zeros(10, requires_grad=True)
            for l, lam_l in enumerate(LAMBDAS):
                def closure(opt):
                    def c():
                        opt.zero_grad()
                        loss = torch.nn.functional.cross_entropy(zz[rows] @ w.t() + b, y[rows]) + \
                            0.5 * lam_l * w.square().sum()
                        loss.backward()
                        return loss
                    return c
                w = w.detach().clone().requires_grad_()  # warm start from the previous lambda
                b = b.detach().clone().requires_grad_()
                snap = lbfgs([w, b], closure, iterations, marks, lambda: (w.detach().clone(), b.detach().clone()))
                for m, (wm, bm) in snap.items():
                    full = torch.zeros(problems, 10, d, dtype=torch.float64)
                    full[k * len(LAMBDAS) + l] = wm.double()
                    bb = torch.zeros(problems, 10, dtype=torch.float64)
                    bb[k * len(LAMBDAS) + l] = bm.double()
                    results[m][0][k * len(LAMBDAS) + l] = per_problem(z.double(), full, bb, torch.float64)[
                        k * len(LAMBDAS) + l]
                    held = fold == k
                    results[m][1][l] += ((z[held] @ wm.t() + bm).argmax(1) == y[held]).sum().item() / n
        return results

    optimum = joint(torch.float64, 1500, {1500})[1500][0]
    marks = {50, 100, 150, 300}
    rows = [("one at a time (before)", one_at_a_time(300, marks)), ("joint, preconditioned (now)",
                                                                      joint(torch.float32, 300, marks))]
    print("| solver | iterations | largest gap to the optimum over the folds, lambda = "
          + ", ".join(map(str, LAMBDAS)) + " | held-out accuracy |")
    print("|---|---|---|---|")
    for name, res in rows:
        for it in sorted(res):
            objective, acc = res[it]
            gap = (objective - optimum).view(FOLDS, -1).max(0).values
            print(f"| {name} | {it} | " + ", ".join(f"{g:.1e}" for g in gap.tolist()) + " | "
                  + ", ".join(f"{100 * a:.2f}" for a in acc) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
