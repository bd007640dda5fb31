import numpy as np
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
