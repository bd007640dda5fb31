import os
import sys

import pytest
import torch

# The package under test is build/python/rkhs (PYTHONPATH, set by CTest); fail early with a clear line otherwise.
try:
    import rkhs  # noqa: F401
except ImportError as e:  # pragma: no cover
    sys.exit(f"tests/python: cannot import rkhs ({e}); run through ctest or set PYTHONPATH=build/python")

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))

FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)
