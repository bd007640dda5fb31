import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import rkhs


def ckn_layer_torch(x, z, patch, s, sigma, eps):
    """Paper 003's layer (rkhs/ckn/layer.h steps 1-4) from plain torch operations, float64: the reference."""
    B, C, H, W = x.shape
    cols = torch.nn.functional.unfold(x, patch, padding=patch // 2)             # (B, C h h, H W)
    norms = cols.pow(2).sum(1, keepdim=True).clamp_min(1e-6).sqrt()            # (B, 1, H W)
    m = norms * torch.exp((z @ cols / norms - 1) / sigma ** 2)                  # (B, p, H W)
    m = m.view(B, -1, H, W)
    if s > 1:
        u = torch.arange(-s, s + 1, dtype=x.dtype)
        w = torch.exp(-u ** 2 / s ** 2)
        w = w / w.sum()
        w2 = (w[:, None] * w[None, :]).expand(m.shape[1], 1, 2 * s + 1, 2 * s + 1)
        m = torch.nn.functional.conv2d(m, w2, stride=s, padding=s, groups=m.shape[1])
    e, v = torch.linalg.eigh(torch.exp((z @ z.T - 1) / sigma ** 2))
    L = v @ torch.diag(1 / (e.clamp_min(0).sqrt() + eps)) @ v.T
    return torch.einsum("pq,bqhw->bphw", L, m)


def test_ckn_layer_equals_the_formula_and_gradchecks():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2, 7, 7, dtype=torch.float64, generator=g)
    layer = rkhs.nn.CKNLayer(2, 4, patch=3, subsample=2, sigma=0.6).double()
    z = layer.filters.detach()
    out = layer(x)
    assert out.shape == (2, 4, 4, 4)
    torch.testing.assert_close(out, ckn_layer_torch(x, z, 3, 2, 0.6, 1e-2), rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(torch.ops.rkhs.ckn_layer(x, z, 3, 2, 0.6, "exp", 1e-2), out)
    xs = torch.randn(1, 1, 5, 5, dtype=torch.float64, generator=g, requires_grad=True)
    zs = torch.nn.functional.normalize(torch.randn(3, 9, dtype=torch.float64, generator=g), dim=1).requires_grad_()
    assert gradcheck(lambda a, b: rkhs.ops.ckn_layer(a, b, 3, 2, 0.6, "exp", 1e-2), (xs, zs))


def test_ckn_fit_unsupervised_sets_unit_norm_filters_reproducibly():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(64, 1, 12, 12, generator=g)
    a = rkhs.nn.CKN(1, filters=[8, 16], patch=3, subsample=2, sigma=0.6)
    info = a.fit_unsupervised(images, patches=2000, kmeans_iterations=20, seed=3)
    assert len(info["mean_cosine"]) == 2 and all(0.3 < c <= 1 for c in info["mean_cosine"])
    for layer in a.layers:
        torch.testing.assert_close(layer.filters.norm(dim=1), torch.ones(layer.filters.shape[0]))
    b = rkhs.nn.CKN(1, filters=[8, 16], patch=3, subsample=2, sigma=0.6)
    b.fit_unsupervised(images, patches=2000, kmeans_iterations=20, seed=3)
    torch.testing.assert_close(a.features(images), b.features(images), rtol=0, atol=0)
    f = a.features(images)
    assert f.shape == (64, 16 * 3 * 3)
    np.testing.assert_allclose(f.norm(dim=1).detach().numpy(), 1, rtol=1e-5)
    assert set(a.state_dict()) == {"layers.0.filters", "layers.1.filters"}


def test_ckn_bad_input_raises():
    layer = rkhs.nn.CKNLayer(2, 4)
    with pytest.raises(rkhs.Error, match="filters must be"):
        layer(torch.randn(1, 3, 8, 8))
    with pytest.raises(rkhs.Error, match="odd"):
        rkhs.nn.CKNLayer(1, 4, patch=2)
    with pytest.raises(rkhs.Error, match="NaN"):
        rkhs.nn.CKN(1, filters=[4]).fit_unsupervised(torch.full((4, 1, 8, 8), float("nan")))


def test_ckn_fit_unsupervised_names_a_channel_mismatch():
    net = rkhs.nn.CKN(in_channels=1, filters=(4,), patch=3, subsample=2)
    with pytest.raises(rkhs.Error, match=r"images must be \(N, 1, H, W\).*got shape \(3, 3, 8, 8\)"):
        net.fit_unsupervised(torch.rand(3, 3, 8, 8))
    with pytest.raises(rkhs.Error, match="images must be"):
        net.fit_unsupervised(torch.rand(8, 8))
