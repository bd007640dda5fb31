#!/usr/bin/python3
"""Times the public PyTorch reference implementation of unsupervised convolutional kernel networks
(claying/CKN-Pytorch-image, D. Chen / A. Bietti) on Fashion-MNIST, for comparison with rkhs's own CKN
(bench/ckn_fashion.sh, 5k-ckn-3layer rows).

Measured: a stratified training subset (default 5,000 images, 500 per class, fixed seed) and the 10,000 test
images, each image standardised on its own (minus its mean, divided by its standard deviation, as rkhs's
`ckn` job does; the reference reads pre-whitened CIFAR-10 and standardises nothing itself); the reference's
UnsupCKNet with 3 layers (filters 64/64/128, 3x3 patches, subsampling 2/2/2, exp kernel with sigma 0.6),
trained layer by layer with the reference's own patch sampling and spherical k-means (default 100,000
patches per layer); features for train and test through the reference's representation (which ends with its
per-vector centring and L2 normalisation); then an untuned sklearn LogisticRegression (max_iter=1000).
Prints one JSON line: the time of each stage (time.perf_counter), the test accuracy and the configuration.

The reference checkout is the directory given by --reference (default /tmp/ckn-ref), which must hold the
package directory ckn/ (models.py, layers.py, ...). It is not part of rkhs and is not modified: two imports
that no longer resolve are supplied here instead (see _install_shims).

Interpreter: Debian's python3 with python3-torch and python3-sklearn (apt-get install python3-torch
python3-sklearn), i.e. /usr/bin/python3, not a pyenv python.

Full measurement:  /usr/bin/python3 bench/reference_ckn_fashion.py --threads 2
Smoke test:        /usr/bin/python3 bench/reference_ckn_fashion.py --threads 1 --train-size 200 \
                       --patches 2000 --test-size 500
"""
import argparse
import contextlib
import gzip
import json
import os
import sys
import time
import types


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", default="/tmp/ckn-ref", help="checkout of claying/CKN-Pytorch-image")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST IDX directory")
    p.add_argument("--train-size", type=int, default=5000)
    p.add_argument("--test-size", type=int, default=0, help="first N test images; 0 = all (smoke tests only)")
    p.add_argument("--patches", type=int, default=100000, help="sampled patches per layer for k-means")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128, help="the reference experiment's batch size")
    p.add_argument("--sigma", type=float, default=0.6)
    return p.parse_args()


ARGS = parse_args()
# Thread counts must be fixed before numpy/torch load their BLAS and OpenMP pools.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

FILTERS = [64, 64, 128]
KERNEL_SIZES = [3, 3, 3]
SUBSAMPLINGS = [2, 2, 2]


def _install_shims():
    """Make the reference importable on current libraries without touching its files.

    - ckn/layers.py imports sklearn.linear_model.base, renamed sklearn.linear_model._base in scikit-learn 0.22
      (the old name was removed in 0.24): the same module is registered under the old name.
    - ckn/models.py imports MisoClassifier from miso_svm (a C++ extension shipped in the repository's
      third-party/ folder, used only by unsup_cross_val's classifier, which this benchmark replaces by
      LogisticRegression): a stub that refuses to be used.
    """
    import sklearn.linear_model._base as base
    sys.modules.setdefault("sklearn.linear_model.base", base)
    if "miso_svm" not in sys.modules:
        miso = types.ModuleType("miso_svm")

        class MisoClassifier:  # never called by this benchmark
            def __init__(self, *a, **k):
                raise RuntimeError("miso_svm is stubbed out in reference_ckn_fashion.py")

        miso.MisoClassifier = MisoClassifier
        sys.modules["miso_svm"] = miso


def _read_idx(directory, stem):
    """Reads one IDX file (gzipped or not) whose name starts with stem; returns a uint8 array."""
    name = next(f for f in sorted(os.listdir(directory)) if f.startswith(stem))
    opener = gzip.open if name.endswith(".gz") else open
    with opener(os.path.join(directory, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _stratified_subset(labels, size, rng):
    """size indices with (almost) equal counts per class, drawn at random per class, returned shuffled."""
    classes = np.unique(labels)
    per_class = [size // len(classes) + (1 if i < size % len(classes) else 0) for i in range(len(classes))]
    picked = [rng.permutation(np.flatnonzero(labels == c))[:n] for c, n in zip(classes, per_class)]
    # Shuffled so that every batch mixes classes: the reference samples the first patches of each batch.
    return rng.permutation(np.concatenate(picked))


def _standardise(images):
    """Per image: minus its mean, divided by its (population) standard deviation; constant images become 0."""
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    x = x - x.mean(axis=1, keepdims=True)
    sd = np.sqrt((x * x).mean(axis=1, keepdims=True))
    x = np.where(sd > 1e-8, x / np.maximum(sd, 1e-8), 0.0).astype(np.float32)
    return x.reshape(len(images), 1, images.shape[1], images.shape[2])


def main():
    args = ARGS
    sys.path.insert(0, os.path.abspath(args.reference))
    _install_shims()
    with contextlib.redirect_stdout(sys.stderr):  # the reference prints progress; stdout keeps the JSON line
        from ckn.layers import CKNLayer
        from ckn.models import UnsupCKNet

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # k-means initialisation (torch.randperm in ckn.utils.spherical_kmeans)
    rng = np.random.RandomState(args.seed)

    t0 = time.perf_counter()
    train_x = _read_idx(args.data, "train-images")
    train_y = _read_idx(args.data, "train-labels")
    test_x = _read_idx(args.data, "t10k-images")
    test_y = _read_idx(args.data, "t10k-labels")
    idx = _stratified_subset(train_y, args.train_size, rng)
    train_x, train_y = train_x[idx], train_y[idx]
    if args.test_size > 0:
        test_x, test_y = test_x[:args.test_size], test_y[:args.test_size]
    train_t = torch.from_numpy(_standardise(train_x))
    test_t = torch.from_numpy(_standardise(test_x))
    loader_args = dict(batch_size=args.batch_size, shuffle=False, num_workers=0)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train_t, torch.from_numpy(train_y.astype(np.int64))), **loader_args)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(test_t, torch.from_numpy(test_y.astype(np.int64))), **loader_args)
    data_seconds = time.perf_counter() - t0

    # As the reference's UnsupCKNetCifar10, but one input channel and 28x28 images. The reference's exp kernel
    # takes sigma and turns it into alpha = 1/sigma^2 (ckn/layers.py), kappa(u) = exp(alpha (u - 1)).
    model = UnsupCKNet(10, 1, FILTERS, KERNEL_SIZES, SUBSAMPLINGS,
                       kernel_args_list=[args.sigma] * len(FILTERS), image_size=train_t.shape[-1],
                       fit_bias=False, maxiter=5000)
    alphas = [float(layer.kernel_args[0]) for layer in model.features]

    # Count the patches k-means really gets (the reference takes ceil(P / batches) per batch, fewer when a
    # batch has not that many).
    patch_counts = []
    original_unsup_train = CKNLayer.unsup_train_

    def counting_unsup_train(self, patches):
        patch_counts.append(int(patches.shape[0]))
        return original_unsup_train(self, patches)

    CKNLayer.unsup_train_ = counting_unsup_train

    t_start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        model.unsup_train_ckn(train_loader, args.patches, use_cuda=False)
    t_kmeans = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        f_train, y_train = model.predict(train_loader, only_representation=True)
        f_test, y_test = model.predict(test_loader, only_representation=True)
    t_features = time.perf_counter()
    clf = LogisticRegression(max_iter=1000)
    clf.fit(f_train.numpy(), y_train.numpy())
    accuracy = float(clf.score(f_test.numpy(), y_test.numpy()))
    t_end = time.perf_counter()

    print(json.dumps({
        "kmeans_seconds": round(t_kmeans - t_start, 3),
        "feature_seconds": round(t_features - t_kmeans, 3),
        "classifier_seconds": round(t_end - t_features, 3),
        "total_seconds": round(t_end - t_start, 3),
        "test_accuracy": accuracy,
        "train_size": int(len(train_t)),
        "test_size": int(len(test_t)),
        "threads": args.threads,
        "feature_dim": int(f_train.shape[1]),
        "data_seconds": round(data_seconds, 3),
        "config": {
            "implementation": "claying/CKN-Pytorch-image UnsupCKNet",
            "reference": os.path.abspath(args.reference),
            "filters": FILTERS, "kernel_sizes": KERNEL_SIZES, "subsamplings": SUBSAMPLINGS,
            "padding": "SAME", "kernel": "exp", "sigma": args.sigma, "alpha": alphas,
            "patches_requested": args.patches, "patches_used": patch_counts,
            "batch_size": args.batch_size, "kmeans_max_iters": 100,
            "preprocessing": "per-image standardisation (mean 0, population std 1)",
            "features": "reference representation (centred, L2-normalised per image)",
            "classifier": "sklearn LogisticRegression(max_iter=1000), otherwise defaults",
            "seed": args.seed, "torch": torch.__version__,
        },
    }), flush=True)


if __name__ == "__main__":
    main()
