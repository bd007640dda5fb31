#!/usr/bin/env python3
"""Issue 27: the official NeuralEF code's 1-D training routine, timed on the CPU, for bench/compare_references.sh.

Runs `our()` of neuralef-classic-kernels.py from a checkout of https://github.com/thudzj/NeuralEigenFunction
(measured at commit 1149cf9) on the paper's 1-D setting: k = 10 separate 3-layer MLPs of width 32 (half sin, half
cos), Adam 1e-3 with a cosine schedule, batches of 256, 2000 iterations. The checkout is read, never copied:
its top-level imports need TensorFlow, matplotlib, seaborn and torchvision, which Debian's python3-torch machine
lacks, so this driver parses the two files and executes only the definitions the routine uses (SinAndCos,
ParallelLinear, ParallelMLP and the kernels from utils.py; NeuralEigenFunctions and our from the script), unchanged,
with `.cuda()` mapped to the CPU. Data as in the script's main(): N points uniform on [-2, 2] (RBF) or [-1, 1]
(polynomial), held-out points on a grid of 2000.

Prints one JSON line: the routine's own training time (its timer starts after the N x N kernel matrix is built and
stops after the last step), the process's wall time so far, the EMA eigenvalues it returns and their relative
errors against the exact eigenvalues of K / N (numpy, float64; only for N <= --exact-limit).

Usage: /usr/bin/python3 bench/reference_neuralef_1d.py --reference DIR [--n 2048] [--kernel rbf] [--seed 1]
       [--threads 1] [--exact-limit 4096]
"""
import argparse
import ast
import json
import math
import pathlib
import random
import sys
import time
from functools import partial
from timeit import default_timer as timer

START = time.monotonic()

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

UTILS_NAMES = {"SinAndCos", "Erf", "ParallelLinear", "ParallelMLP", "rbf_kernel", "polynomial_kernel"}
SCRIPT_NAMES = {"NeuralEigenFunctions", "our"}


def definitions(path, names):
    """The top-level classes and functions of `path` whose names are in `names`, as one compiled module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    body = [node for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in names]
    missing = names - {node.name for node in body}
    if missing:
        sys.exit(f"reference_neuralef_1d: {path} has no {', '.join(sorted(missing))} (a different commit?)")
    return compile(ast.Module(body=body, type_ignores=[]), str(path), "exec")


def load_routine(reference):
    reference = pathlib.Path(reference)
    files = [reference / "utils.py", reference / "neuralef-classic-kernels.py"]
    for f in files:
        if not f.is_file():
            sys.exit(f"reference_neuralef_1d: {f} not found (a NeuralEigenFunction checkout?)")
    namespace = {"math": math, "np": np, "torch": torch, "nn": nn, "F": F, "partial": partial, "timer": timer,
                 "Module": nn.Module}
    exec(definitions(files[0], UTILS_NAMES), namespace)
    exec(definitions(files[1], SCRIPT_NAMES), namespace)
    return namespace


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", required=True, help="a checkout of thudzj/NeuralEigenFunction")
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--kernel", choices=["rbf", "polynomial"], default="rbf")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--exact-limit", type=int, default=4096,
                   help="compare with the exact eigenvalues of K / N when N is at most this (an N x N eigh)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ns = load_routine(a.reference)
    # The script runs on CUDA; on this machine its .cuda() calls keep tensors and modules on the CPU.
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    nn.Module.cuda = lambda self, *args, **kwargs: self
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    if a.kernel == "rbf":
        kernel, lo, hi = partial(ns["rbf_kernel"], 1, 1), -2.0, 2.0
    else:
        kernel, lo, hi = partial(ns["polynomial_kernel"], 4, 1, 1.5), -1.0, 1.0
    x = torch.empty(a.n, 1).uniform_(lo, hi)
    x_val = torch.arange(lo, hi, (hi - lo) / 2000.0).view(-1, 1)
    eigenvalues, _, seconds = ns["our"](ns["NeuralEigenFunctions"], x, x_val, a.k, kernel)
    wall = time.monotonic() - START
    est = eigenvalues.double().numpy()
    exact, rel = None, None
    if a.n <= a.exact_limit:
        exact = np.linalg.eigvalsh(kernel(x.double()).numpy() / a.n)[::-1][: a.k]
        rel = [abs(e - t) / t if t > 1e-12 * exact[0] else None for e, t in zip(est, exact)]
        exact = exact.tolist()
    print(json.dumps({"implementation": "official NeuralEF (thudzj/NeuralEigenFunction, our())", "n": a.n,
                      "k": a.k, "kernel": a.kernel, "seed": a.seed, "threads": a.threads, "iterations": 2000,
                      "train_seconds": seconds, "wall_seconds_in_process": wall,
                      "eigenvalues": est.tolist(), "exact_eigenvalues": exact,
                      "eigenvalue_rel_error": rel}))


if __name__ == "__main__":
    main()
