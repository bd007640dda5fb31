#!/usr/bin/env python3
"""How far the RBF matrix of a Kernel SGD mini-batch is from the identity on Fashion-MNIST (docs/RESULTS.md,
"What validation selected"): pixels standardised with one mean/std over all training pixels (as
`rkhs classify` does), three random batches of 64 training images (seed 0), the smallest and median squared
distance per batch, then per gamma the mean and largest off-diagonal entry of exp(-gamma * |x_i - x_j|^2).
Pure Python (no numpy needed). Usage: kernel_matrix_stats.py [IDX_DIR]
"""
import gzip
import math
import os
import random
import sys
from collections import Counter

directory = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
name = next(f for f in sorted(os.listdir(directory)) if "train-images" in f)
opener = gzip.open if name.endswith(".gz") else open
with opener(os.path.join(directory, name), "rb") as f:
    pixels = f.read()[16:]
counts = Counter(pixels)
n = len(pixels)
mean = sum(v * c for v, c in counts.items()) / n / 255
std = math.sqrt(sum(v * v * c for v, c in counts.items()) / n / 255 / 255 - mean * mean)
print(f"pixel mean {mean:.4f} std {std:.4f}")
random.seed(0)
gammas = [0.1, 0.01, 0.001, 0.0001]
stats = {g: [] for g in gammas}
for _ in range(3):
    batch = [[(b / 255 - mean) / std for b in pixels[i * 784:(i + 1) * 784]]
             for i in random.sample(range(n // 784), 64)]
    d2 = sorted(sum((a - b) ** 2 for a, b in zip(batch[i], batch[j])) for i in range(64) for j in range(64) if i != j)
    print(f"batch: smallest squared distance {d2[0]:.0f}, median {d2[len(d2) // 2]:.0f}")
    for g in gammas:
        k = [math.exp(-g * x) for x in d2]
        stats[g].append((sum(k) / len(k), max(k)))
for g in gammas:
    print(f"gamma {g:g}: mean off-diagonal {sum(m for m, _ in stats[g]) / 3:.2g}, largest {max(x for _, x in stats[g]):.2g}")
