import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import rkhs


def test_kernel_linear_weight_is_the_formula():
    torch.manual_seed(0)
    layer = rkhs.nn.KernelLinear(6, 4, dim=3).double()
    u, v, alpha = (t.detach().numpy() for t in (layer.u, layer.v, layer.alpha))
    w = alpha[:, None] * np.tanh(u @ v.T)  # the registry's tanh kernel: tanh(x^T y), paper eq. 15
    np.testing.assert_allclose(layer.weight().detach().numpy(), w, rtol=1e-12)
    x = torch.randn(5, 6, dtype=torch.float64)
    np.testing.assert_allclose(layer(x).detach().numpy(), x.numpy() @ w.T + layer.bias.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.penalty().item(), 0.5 * 20 * (w ** 2).sum(), rtol=1e-12)
    assert sum(p.numel() for p in layer.parameters()) == 3 * (6 + 4) + 2 * 4
    assert gradcheck(lambda a: layer(a), (x.clone().requires_grad_(),))


def test_sparse_kernel_linear_learns_its_mask():
    torch.manual_seed(1)
    layer = rkhs.nn.SparseKernelLinear(5, 3, dim=2).double()
    assert layer.nonzero_weights() == 15  # K ~ 1 at the start: every connection is there
    with torch.no_grad():
        layer.u.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.5, 0.5]]))
        layer.v.copy_(torch.tensor([[0.0, 0.2], [2.0, 0.3], [0.4, 0.4], [5.0, 5.0], [0.1, 0.9]]))
    u, v, a = layer.u.detach().numpy(), layer.v.detach().numpy(), layer.a.detach().numpy()
    k = np.maximum(0, 1 - ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(layer.weight().detach().numpy(), a * k, rtol=1e-12)
    assert layer.nonzero_weights() == int((k > 0).sum())
    np.testing.assert_allclose(layer.penalty().item(), 0.5 * 20 * (a ** 2).sum() + 0.5 * 0.006 * (k ** 2).sum(),
                               rtol=1e-12)
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: layer(t), (x,))


def test_autorec_beats_the_item_means_on_low_rank_ratings():
    # 80 users x 60 items with a rank-2 structure, 40% observed, 10% of those held out for the test.
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(80, 2, generator=g), torch.randn(60, 2, generator=g)
    full = (3 + a @ b.T).clamp(1, 5)
    users, items = torch.nonzero(torch.rand(80, 60, generator=g) < 0.4, as_tuple=True)
    ratings = torch.stack([users.float(), items.float(), full[users, items]], 1)
    order = torch.randperm(len(ratings), generator=g)
    test, train = ratings[order[:len(order) // 10]], ratings[order[len(order) // 10:]]
    info, predict = rkhs.kernelnet.autorec(train, test, num_users=80, num_items=60, layers=1, hidden=20,
                                           lambda2=1.0, outer_loops=5, lbfgs_iterations=30, seed=1)
    item_mean = torch.zeros(60).index_add_(0, train[:, 1].long(), train[:, 2]) / \
        torch.zeros(60).index_add_(0, train[:, 1].long(), torch.ones(len(train))).clamp_min(1)
    baseline = ((item_mean[test[:, 1].long()] - test[:, 2]) ** 2).mean().sqrt().item()
    assert info["test_rmse"] < 0.9 * baseline, (info["test_rmse"], baseline)
    p = predict(test[:, 0].long(), test[:, 1].long())
    np.testing.assert_allclose(((p - test[:, 2]) ** 2).mean().sqrt().item(), info["test_rmse"], rtol=1e-4)
    assert len(info["history"]) == 5


def test_autorec_bad_input_raises():
    ok = torch.tensor([[0, 0, 4.0], [1, 1, 3.0]])
    with pytest.raises(rkhs.Error, match="n, 3"):
        rkhs.kernelnet.autorec(torch.zeros(3, 2), ok)
    with pytest.raises(rkhs.Error, match="out of range"):
        rkhs.kernelnet.autorec(ok, torch.tensor([[5, 0, 4.0]]), num_users=2, num_items=2)
    with pytest.raises(rkhs.Error, match="NaN"):
        rkhs.kernelnet.autorec(torch.tensor([[0, 0, float("nan")]]), ok)
