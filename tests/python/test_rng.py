"""The fits and rkhs.run seed LibTorch's global generator for their own reproducibility; the caller's random state
must be as it was afterwards (the next torch.rand is the one it would have been without the call)."""
import pytest
import torch

import rkhs


def ratings():
    u = torch.tensor([0, 1, 2, 0, 1, 2, 0, 2], dtype=torch.float64)
    i = torch.tensor([0, 1, 2, 1, 2, 0, 2, 1], dtype=torch.float64)
    r = torch.tensor([4.0, 3.0, 5.0, 2.0, 4.0, 1.0, 3.0, 5.0], dtype=torch.float64)
    return torch.stack([u, i, r], 1)


NET = rkhs.nn.CKN(in_channels=1, filters=(4,))  # built outside the test: its random filters draw numbers
IMAGES = torch.rand(4, 1, 8, 8)
CALLS = {
    "neuralef": lambda: rkhs.spectral.neuralef(torch.linspace(-1, 1, 100, dtype=torch.float64)[:, None], k=2,
                                               iterations=10, batch_size=32, seed=5),
    "nystrom": lambda: rkhs.spectral.nystrom(torch.linspace(-1, 1, 50, dtype=torch.float64)[:, None], k=2),
    "ckn": lambda: NET.fit_unsupervised(IMAGES, patches=64, kmeans_iterations=2, seed=5),
    "autorec": lambda: rkhs.kernelnet.autorec(ratings(), ratings()[:3], hidden=8, outer_loops=1,
                                              lbfgs_iterations=2, seed=5),
    "run": lambda: rkhs.run(["classify", "--data", "circles", "--epochs", "1", "--lr", "0.1", "--seed", "5"]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_fit_leaves_the_callers_random_state_as_it_was(name):
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    CALLS[name]()
    assert torch.equal(torch.rand(4), expected)
