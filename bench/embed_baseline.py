#!/usr/bin/env python3
"""The simplest baseline of `rkhs embed` (issue 26, bench/defaults.sh part embed): a 2-D PCA of the standardised
Fashion-MNIST pixels (fitted on the training images), scored as `rkhs embed` scores its kernelNet embedding: each
test image's 5 nearest embedded training points (the first 10,000 of a seeded permutation of the training set) vote,
ties to the smallest label. Prints one JSON line.
Usage: /usr/bin/python3 bench/embed_baseline.py [--seed 1] [--data /usr/share/datasets/fashion-mnist]"""
import argparse
import gzip
import json

import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def knn_accuracy(train_e, train_y, test_e, test_y, k=5, classes=10):
    correct = 0
    for i in range(0, test_e.shape[0], 1000):
        d = torch.cdist(test_e[i:i + 1000], train_e)
        nearest = d.topk(k, largest=False).indices
        votes = torch.nn.functional.one_hot(train_y[nearest], classes).sum(1).double()
        votes -= torch.arange(classes, dtype=torch.float64) * 1e-6  # ties to the smallest label
        correct += int((votes.argmax(1) == test_y[i:i + 1000]).sum())
    return correct / test_e.shape[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    x = idx(f"{a.data}/train-images-idx3-ubyte.gz").reshape(60000, -1).double() / 255
    y = idx(f"{a.data}/train-labels-idx1-ubyte.gz").long()
    tx = idx(f"{a.data}/t10k-images-idx3-ubyte.gz").reshape(10000, -1).double() / 255
    ty = idx(f"{a.data}/t10k-labels-idx1-ubyte.gz").long()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    xs, txs = (x - mean) / std, (tx - mean) / std
    _, _, v = torch.linalg.svd(xs - xs.mean(0), full_matrices=False)
    proj = v[:2].t()
    g = torch.Generator().manual_seed(a.seed)
    first = torch.randperm(60000, generator=g)[:10000]
    acc = knn_accuracy(xs[first] @ proj, y[first], txs @ proj, ty)
    print(json.dumps({"baseline": "2-D PCA of the standardised pixels, 5-NN", "seed": a.seed, "knn_accuracy": acc}))


if __name__ == "__main__":
    main()
