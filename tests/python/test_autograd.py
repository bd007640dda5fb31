"""What every torch.ops.rkhs operation is differentiable in (docs/PYTHON.md, the table of operations): gradcheck in
float64 where it is, and the documented behaviour where it is not by design. gram/series/kcl_logits/pair_dot/
sparse_matmul in x/ckn_layer are also gradchecked in test_kernels.py, test_ops.py and test_ckn.py."""
import numpy as np
import pytest
import torch
from torch.autograd import gradcheck
from torch.autograd.gradcheck import GradcheckError

import rkhs

F64 = torch.float64

# Every registry kernel with its default parameters, except finite's a (with a = 1 most pairs of N(0, I) points
# are beyond its support, where the gradient is 0 and the check would say little).
SPECS = {name: "finite:a=0.2" if name == "finite" else name for name in rkhs.kernels.names()}


def _points(spec, generator, n):
    x = torch.randn(n, 3, dtype=F64, generator=generator)
    if rkhs.kernels.make(spec).requires_unit_sphere:
        x = x / x.norm(dim=1, keepdim=True)
    return x.requires_grad_(True)


def test_every_registry_kernel_is_covered():
    # A kernel added to the registry gets the gradcheck below automatically; a removed one must leave the list.
    assert sorted(SPECS) == rkhs.kernels.names() and len(SPECS) >= 9


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gram_and_diag_gradcheck_for_every_registry_kernel(name, generator):
    spec = SPECS[name]
    x, y = _points(spec, generator, 5), _points(spec, generator, 4)
    assert gradcheck(lambda a, b: torch.ops.rkhs.gram(spec, a, b), (x, y))
    assert gradcheck(lambda a: rkhs.kernels.gram(spec, a), (x,))  # y = x: diagonal pairs at distance 0
    assert gradcheck(lambda a: rkhs.kernels.diag(spec, a), (x,))
    assert gradcheck(lambda a: torch.ops.rkhs.kernel_diag(spec, a), (x,))
    with torch.no_grad():
        np.testing.assert_allclose(rkhs.kernels.diag(spec, x).numpy(),
                                   np.diagonal(rkhs.kernels.gram(spec, x).numpy()), rtol=1e-12, atol=1e-14)


def test_linear_finite_tanh_equal_their_formulas(generator):
    x = torch.randn(6, 3, dtype=F64, generator=generator)
    y = torch.randn(4, 3, dtype=F64, generator=generator)
    xn, yn = x.numpy(), y.numpy()
    dist2 = ((xn[:, None, :] - yn[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(rkhs.kernels.gram("linear", x, y).numpy(), xn @ yn.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rkhs.kernels.gram("finite:a=0.2", x, y).numpy(), np.maximum(0, 1 - 0.2 * dist2),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rkhs.kernels.gram("tanh:scale=0.5,offset=0.1", x, y).numpy(),
                               np.tanh(0.5 * xn @ yn.T + 0.1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rkhs.kernels.diag("finite:a=0.2", x).numpy(), np.ones(6), rtol=0, atol=0)


def test_kcl_logits_reference_gradcheck(generator):
    z = torch.randn(6, 4, dtype=F64, generator=generator, requires_grad=True)
    w = torch.randn(3, 4, dtype=F64, generator=generator, requires_grad=True)
    alpha = torch.rand(6, dtype=F64, generator=generator, requires_grad=True)
    assert gradcheck(lambda a, b, c: rkhs.ops.kcl_logits_reference(a, b, c, 1e-6, 0.7), (z, w, alpha))
    assert gradcheck(lambda a, b, c: torch.ops.rkhs.kcl_logits_reference(a, b, c, 1e-6, 0.7), (z, w, alpha))


@pytest.mark.parametrize("damping", [0.0, 0.3])
def test_psd_inverse_gradcheck_and_gradient_formula(damping, generator):
    a = torch.randn(5, 5, dtype=F64, generator=generator)
    h = (a @ a.T + 0.5 * torch.eye(5, dtype=F64)).requires_grad_(True)
    assert gradcheck(lambda t: rkhs.ops.psd_inverse(t, damping), (h,))
    assert gradcheck(lambda t: torch.ops.rkhs.psd_inverse(t, damping), (h,))
    # The op inverts the symmetric part (H + H^T) / 2 + damping I: for a weight W on the output, the gradient in H
    # is the symmetric part of -A^-T W A^-T (float64 numpy reference).
    weight = torch.randn(5, 5, dtype=F64, generator=generator)
    (grad,) = torch.autograd.grad((rkhs.ops.psd_inverse(h, damping) * weight).sum(), h)
    ainv = np.linalg.inv(h.detach().numpy() + damping * np.eye(5))
    m = -ainv.T @ weight.numpy() @ ainv.T
    np.testing.assert_allclose(grad.numpy(), 0.5 * (m + m.T), rtol=1e-8, atol=1e-10)
    # A non-symmetric input: only its symmetric part matters, and the derivative says so.
    b = torch.randn(5, 5, dtype=F64, generator=generator).requires_grad_(True)
    assert gradcheck(lambda t: rkhs.ops.psd_inverse(t, 10.0), (b,))


def test_psd_inverse_gradient_at_repeated_eigenvalues():
    # A backward through eigh is NaN here; psd_inverse has its own (the pseudo-inverse's derivative at constant rank).
    h = (2 * torch.eye(3, dtype=F64)).requires_grad_(True)
    (grad,) = torch.autograd.grad(rkhs.ops.psd_inverse(h).sum(), h)
    np.testing.assert_allclose(grad.numpy(), -0.25 * np.ones((3, 3)), rtol=1e-12)  # -A^-1 1 1^T A^-1


@pytest.mark.parametrize("mode", ["faithful", "corrected"])
@pytest.mark.parametrize("m", [4, 5, 7])  # m < d_in (padding), m = d_in, m > d_in (top-left block)
def test_precondition_gradient_gradcheck(mode, m, generator):
    grad = torch.randn(3, 5, dtype=F64, generator=generator, requires_grad=True)
    inverse = torch.randn(m, m, dtype=F64, generator=generator, requires_grad=True)
    assert gradcheck(lambda g, i: rkhs.ops.precondition_gradient(g, i, mode), (grad, inverse))
    assert gradcheck(lambda g, i: torch.ops.rkhs.precondition_gradient(g, i, mode), (grad, inverse))


def _neuralef_numpy(k, psi):
    """Eq. 17's value and eq. 18's dl/dPsi in float64 numpy: R = Psi^T K Psi, loss = -(sum_j R_jj - sum_{i<j}
    R_ij^2 / R_ii) / B^2, gradient column j = -2 / B^2 (K psi_j - sum_{i<j} R_ij / R_ii K psi_i)."""
    b, kk = psi.shape
    kpsi = k @ psi
    r = psi.T @ kpsi
    loss = -(np.trace(r) - sum(r[i, j] ** 2 / r[i, i] for j in range(kk) for i in range(j))) / b ** 2
    grad = np.stack([kpsi[:, j] - sum(r[i, j] / r[i, i] * kpsi[:, i] for i in range(j)) for j in range(kk)], 1)
    return loss, -2 / b ** 2 * grad


def test_neuralef_loss_is_differentiable_in_the_kernel_matrix_but_not_exactly_in_psi(generator):
    k = rkhs.kernels.gram("rbf", torch.randn(8, 2, dtype=F64, generator=generator))
    psi = torch.randn(8, 3, dtype=F64, generator=generator, requires_grad=True)
    loss_ref, grad_ref = _neuralef_numpy(k.numpy(), psi.detach().numpy())
    loss = rkhs.ops.neuralef_loss(k, psi)
    np.testing.assert_allclose(loss.item(), loss_ref, rtol=1e-12)
    # In psi, autograd gives eq. 18 (the stop-gradients of eq. 17), which is not the derivative of the value:
    (grad,) = torch.autograd.grad(loss, psi)
    np.testing.assert_allclose(grad.numpy(), grad_ref, rtol=1e-10, atol=1e-14)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(lambda p: rkhs.ops.neuralef_loss(k, p), (psi,))
    # In the kernel matrix nothing is stopped: the true derivative.
    assert gradcheck(lambda m: torch.ops.rkhs.neuralef_loss(m, psi.detach()), (k.clone().requires_grad_(True),))


def test_neuralef_output_gradient_is_closed_form_and_not_differentiable(generator):
    k = rkhs.kernels.gram("rbf", torch.randn(8, 2, dtype=F64, generator=generator))
    psi = torch.randn(8, 3, dtype=F64, generator=generator, requires_grad=True)
    out = rkhs.ops.neuralef_output_gradient(k.requires_grad_(True), psi)
    np.testing.assert_allclose(out.numpy(), _neuralef_numpy(k.detach().numpy(), psi.detach().numpy())[1],
                               rtol=1e-10, atol=1e-14)
    assert not out.requires_grad and out.grad_fn is None  # computed without autograd: the result is detached
    with pytest.raises(RuntimeError, match="does not require grad"):
        out.sum().backward()


def test_sparse_matmul_values_are_constants(generator):
    rows, cols = torch.tensor([0, 1, 2]), torch.tensor([1, 0, 1])
    x = torch.randn(2, 3, dtype=F64, generator=generator, requires_grad=True)
    values = torch.rand(3, dtype=F64, generator=generator, requires_grad=True)
    for op in (rkhs.ops.sparse_matmul, torch.ops.rkhs.sparse_matmul):
        with pytest.raises(rkhs.Error, match="values are constants"):
            op(rows, cols, values, 3, x)
    assert gradcheck(lambda a: torch.ops.rkhs.sparse_matmul(rows, cols, values.detach(), 3, a), (x,))


def test_sparse_products_are_first_order_only(generator):
    rows, cols = torch.tensor([0, 1, 2]), torch.tensor([1, 0, 1])
    h = torch.randn(3, 2, dtype=F64, generator=generator, requires_grad=True)
    w = torch.randn(2, 2, dtype=F64, generator=generator, requires_grad=True)
    with pytest.raises(RuntimeError, match="second-order"):
        torch.autograd.grad(rkhs.ops.pair_dot(h, w, rows, cols).sum(), h, create_graph=True)
    values = torch.rand(3, dtype=F64, generator=generator)
    with pytest.raises(RuntimeError, match="second-order"):
        torch.autograd.grad(rkhs.ops.sparse_matmul(rows, cols, values, 3, w).sum(), w, create_graph=True)


@pytest.mark.parametrize("spec", ["tanh", "rbf:gamma=0.5", "linear"])
def test_kernel_weight_is_alpha_times_the_gram_matrix_and_gradchecks(spec, generator):
    u = torch.randn(4, 3, dtype=F64, generator=generator, requires_grad=True)
    v = torch.randn(6, 3, dtype=F64, generator=generator, requires_grad=True)
    alpha = torch.rand(4, dtype=F64, generator=generator, requires_grad=True)
    k = rkhs.kernels.make(spec).gram(u.detach(), v.detach())
    np.testing.assert_allclose(rkhs.ops.kernel_weight(spec, u, v, alpha).detach().numpy(),
                               alpha.detach().numpy()[:, None] * k.numpy(), rtol=1e-12)
    assert gradcheck(lambda a, b, c: rkhs.ops.kernel_weight(spec, a, b, c), (u, v, alpha))
    assert gradcheck(lambda a, b, c: torch.ops.rkhs.kernel_weight(spec, a, b, c), (u, v, alpha))
    with pytest.raises(rkhs.Error, match="alpha must be"):
        rkhs.ops.kernel_weight(spec, u, v, alpha[:3])
