import warnings

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import rkhs


def kcl_numpy(z, w, alpha, eps, temperature):
    """Paper 000 eq. 3-7 in float64 numpy: an independent reference for the fused C++ layer."""
    zh = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    wh = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    t = np.clip(zh @ wh.T, -1, 1)
    one, minus_one = t >= 1 - eps, t <= -1 + eps
    k = alpha[0] * (one | minus_one) + alpha[1] * (one.astype(float) - minus_one)
    k = k + sum(a * t ** m for m, a in enumerate(alpha[2:]))
    return k / temperature


def test_kcl_logits_equal_the_numpy_formula(generator):
    z = torch.randn(16, 8, dtype=torch.float64, generator=generator)
    w = torch.randn(5, 8, dtype=torch.float64, generator=generator)
    w[2] = 3 * z[4]  # one exact t = 1 so that the indicator terms are exercised
    alpha = torch.rand(7, dtype=torch.float64, generator=generator)
    out = rkhs.ops.kcl_logits(z, w, alpha, 1e-6, 0.5)
    np.testing.assert_allclose(out.numpy(), kcl_numpy(z.numpy(), w.numpy(), alpha.numpy(), 1e-6, 0.5),
                               rtol=1e-10, atol=1e-12)
    ref = rkhs.ops.kcl_logits_reference(z, w, alpha, 1e-6, 0.5)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(torch.ops.rkhs.kcl_logits(z, w, alpha, 1e-6, 0.5), out, rtol=0, atol=0)


def test_kcl_logits_fused_matches_reference_in_float32(generator):
    z, w, alpha = torch.randn(64, 32, generator=generator), torch.randn(10, 32, generator=generator), torch.rand(13)
    torch.testing.assert_close(rkhs.ops.kcl_logits(z, w, alpha), rkhs.ops.kcl_logits_reference(z, w, alpha),
                               rtol=1e-5, atol=1e-5)


def test_kcl_and_series_gradcheck_float64(generator):
    z = torch.randn(6, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    w = torch.randn(3, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    alpha = torch.rand(6, dtype=torch.float64, generator=generator, requires_grad=True)
    assert gradcheck(lambda a, b, c: rkhs.ops.kcl_logits(a, b, c, 1e-6, 0.7), (z, w, alpha))
    assert gradcheck(lambda a, b, c: torch.ops.rkhs.kcl_logits(a, b, c, 1e-6, 0.7), (z, w, alpha))
    t = (torch.rand(5, 3, dtype=torch.float64, generator=generator) * 1.8 - 0.9).requires_grad_(True)
    assert gradcheck(lambda a, b: rkhs.ops.series_kernel(a, b, 1e-6), (t, alpha))


def test_psd_inverse_equals_numpy_and_warns_when_singular(generator):
    a = torch.randn(6, 6, dtype=torch.float64, generator=generator)
    h = a @ a.T + 0.1 * torch.eye(6, dtype=torch.float64)
    np.testing.assert_allclose(rkhs.ops.psd_inverse(h).numpy(), np.linalg.inv(h.numpy()), rtol=1e-8, atol=1e-10)
    b = torch.randn(6, 2, dtype=torch.float64, generator=generator)
    singular = b @ b.T  # rank 2
    out = rkhs.ops.psd_inverse(singular)
    np.testing.assert_allclose(out.numpy(), np.linalg.pinv(singular.numpy(), hermitian=True), rtol=1e-6, atol=1e-8)
    with pytest.raises(rkhs.Error):
        rkhs.ops.psd_inverse(torch.full((3, 3), float("nan"), dtype=torch.float64))
    with pytest.raises(rkhs.Error):
        rkhs.ops.psd_inverse(torch.zeros(3, 4, dtype=torch.float64))


def test_precondition_gradient_follows_eq5(generator):
    grad = torch.randn(3, 5, dtype=torch.float64, generator=generator)
    inv = torch.randn(4, 4, dtype=torch.float64, generator=generator)
    g, hi = grad.numpy(), inv.numpy()
    faithful = np.concatenate([g[:, :4] @ hi, np.zeros((3, 1))], axis=1)  # m = 4 < d_in = 5: zero padding
    corrected = np.concatenate([g[:, :4] @ hi, g[:, 4:]], axis=1)          # identity padding
    np.testing.assert_allclose(rkhs.ops.precondition_gradient(grad, inv, "faithful").numpy(), faithful, rtol=1e-12)
    np.testing.assert_allclose(rkhs.ops.precondition_gradient(grad, inv, "corrected").numpy(), corrected, rtol=1e-12)
    big = torch.randn(7, 7, dtype=torch.float64, generator=generator)  # m = 7 > d_in: top-left block
    np.testing.assert_allclose(rkhs.ops.precondition_gradient(grad, big).numpy(), g @ big.numpy()[:5, :5], rtol=1e-12)
    with pytest.raises(rkhs.Error, match="faithful"):
        rkhs.ops.precondition_gradient(grad, inv, "sideways")


def test_neuralef_output_gradient_is_the_loss_gradient(generator):
    x = torch.randn(12, 2, dtype=torch.float64, generator=generator)
    k = rkhs.kernels.gram("rbf", x)
    psi = torch.randn(12, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    (grad,) = torch.autograd.grad(rkhs.ops.neuralef_loss(k, psi), psi)
    torch.testing.assert_close(rkhs.ops.neuralef_output_gradient(k, psi.detach()), grad)


def test_sparse_products_equal_dense_ones_and_gradcheck(generator):
    h = torch.randn(5, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    rows, cols = torch.tensor([0, 1, 4, 4, 2]), torch.tensor([3, 0, 1, 1, 2])
    torch.testing.assert_close(rkhs.ops.pair_dot(h, w, rows, cols), (h @ w.T)[rows, cols])
    assert gradcheck(lambda a, b: rkhs.ops.pair_dot(a, b, rows, cols), (h, w))
    values = torch.rand(5, dtype=torch.float64, generator=generator)
    x = torch.randn(4, 2, dtype=torch.float64, generator=generator, requires_grad=True)
    dense = torch.zeros(5, 4, dtype=torch.float64).index_put_((rows, cols), values, accumulate=True)
    torch.testing.assert_close(rkhs.ops.sparse_matmul(rows, cols, values, 5, x), dense @ x)
    assert gradcheck(lambda a: rkhs.ops.sparse_matmul(rows, cols, values, 5, a), (x,))


def test_warnings_reach_python(generator):
    from rkhs.optim import KernelSGD
    layer = torch.nn.Linear(3, 2).double()
    opt = KernelSGD(layer.parameters(), lr=0.1, preconditioned=[layer.weight], kernel="linear",
                     damping=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt.set_batch_inputs(torch.ones(4, 3, dtype=torch.float64))  # rank-1 kernel matrix: a pseudo-inverse
    assert any(issubclass(w.category, rkhs.Warning) for w in caught), [str(w.message) for w in caught]
