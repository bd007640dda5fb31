#!/usr/bin/env python3
"""The Python call overhead of rkhs (issue 23): the same operation called from Python (rkhs.ops, torch.ops.rkhs,
the rkhs.nn module) and timed in a C++ loop inside the same process, at batch 128, d 256, 100 classes; and one
training step of a KCL head against torch.nn.Linear. One JSON line per measurement on stdout.

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--threads 1] [--reps 2000] [--rounds 5]
Each figure is the best of --rounds alternating rounds (the machine is shared), seconds per call.
"""
import argparse
import json
import time

import torch

import rkhs


def per_call(fn, reps):
    for _ in range(3):
        fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    B, d, C = 128, 256, 100
    z = torch.randn(B, d)
    head = rkhs.nn.KernelizedHead(d, C)
    w, alpha = head.weight.detach().clone(), head.alpha().detach().clone()
    zg, wg, ag = z.clone().requires_grad_(), w.clone().requires_grad_(), alpha.clone().requires_grad_()
    x, y = torch.randn(B, d), torch.randn(C, d)
    linear = torch.nn.Linear(d, C)
    labels = torch.randint(0, C, (B,))
    opt_k = torch.optim.SGD(head.parameters(), lr=0.01)
    opt_l = torch.optim.SGD(linear.parameters(), lr=0.01)

    def step(module, opt):
        loss = torch.nn.functional.cross_entropy(module(z), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    cases = {
        "kcl_logits forward: C++": lambda r: rkhs._C._cpp_seconds_kcl_logits(z, w, alpha, False, r),
        "kcl_logits forward: rkhs.ops": lambda r: per_call(lambda: rkhs.ops.kcl_logits(z, w, alpha), r),
        "kcl_logits forward: torch.ops.rkhs": lambda r: per_call(lambda: torch.ops.rkhs.kcl_logits(z, w, alpha), r),
        "kcl_logits forward: rkhs.nn.KernelizedHead": lambda r: per_call(lambda: head(z), r),
        "kcl_logits forward+backward: C++": lambda r: rkhs._C._cpp_seconds_kcl_logits(zg, wg, ag, True, r),
        "kcl_logits forward+backward: rkhs.ops":
            lambda r: per_call(lambda: rkhs.ops.kcl_logits(zg, wg, ag).sum().backward(), r),
        "gram rbf: C++": lambda r: rkhs._C._cpp_seconds_gram("rbf:gamma=0.01", x, y, r),
        "gram rbf: rkhs.kernels.gram": lambda r: per_call(lambda: rkhs.kernels.gram("rbf:gamma=0.01", x, y), r),
        "gram rbf: torch.ops.rkhs.gram": lambda r: per_call(lambda: torch.ops.rkhs.gram("rbf:gamma=0.01", x, y), r),
        "training step: KernelizedHead": lambda r: per_call(lambda: step(head, opt_k), r),
        "training step: torch.nn.Linear": lambda r: per_call(lambda: step(linear, opt_l), r),
    }
    best = {name: float("inf") for name in cases}
    for _ in range(a.rounds):
        for name, fn in cases.items():
            best[name] = min(best[name], fn(a.reps))
    base = {"kcl_logits forward": best["kcl_logits forward: C++"],
            "kcl_logits forward+backward": best["kcl_logits forward+backward: C++"],
            "gram rbf": best["gram rbf: C++"], "training step": best["training step: torch.nn.Linear"]}
    for name, seconds in best.items():
        op = name.split(":")[0]
        print(json.dumps({"case": name, "us_per_call": seconds * 1e6, "ratio_to_baseline": seconds / base[op],
                          "batch": B, "dim": d, "classes": C, "threads": a.threads,
                          "torch": torch.__version__}))


if __name__ == "__main__":
    main()
