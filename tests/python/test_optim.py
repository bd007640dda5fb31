import numpy as np
import pytest
import torch

import rkhs


def kernel_sgd_numpy(w, b, x, y, steps, lr, gamma, mode, momentum, damping):
    """Algorithm 1 of paper 001 for a linear softmax layer, in float64 numpy: W <- W - lr dJ/dW (H + damping I)^-1
    (eq. 5; damping 0 is the paper's) with H the RBF kernel matrix of the batch inputs, the bias by plain SGD,
    momentum as torch SGD."""
    w, b = w.copy(), b.copy()
    bw, bb = np.zeros_like(w), np.zeros_like(b)
    for xb, yb in zip(x, y):
        logits = xb @ w.T + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(yb)), yb] -= 1
        gw, gb = p.T @ xb / len(yb), p.mean(0)
        h = np.exp(-gamma * ((xb[:, None, :] - xb[None, :, :]) ** 2).sum(-1))
        hinv = np.linalg.inv(h + damping * np.eye(len(h)))
        m, d = hinv.shape[0], w.shape[1]
        if m >= d:
            gw = gw @ hinv[:d, :d]
        else:
            rest = gw[:, m:] if mode == "corrected" else np.zeros_like(gw[:, m:])
            gw = np.concatenate([gw[:, :m] @ hinv, rest], axis=1)
        bw, bb = momentum * bw + gw, momentum * bb + gb
        w, b = w - lr * bw, b - lr * bb
    return w, b


@pytest.mark.parametrize("mode,batch,damping", [("faithful", 4, 0.0), ("corrected", 4, 0.0), ("faithful", 12, 0.0),
                                                ("corrected", 4, None), ("faithful", 12, None)])
def test_kernel_sgd_follows_algorithm_1(mode, batch, damping):
    gen = torch.Generator().manual_seed(3)
    layer = torch.nn.Linear(6, 3).double()
    x = [torch.randn(batch, 6, dtype=torch.float64, generator=gen) for _ in range(5)]
    y = [torch.randint(0, 3, (batch,), generator=gen) for _ in range(5)]
    w0, b0 = layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()
    given = {} if damping is None else {"damping": damping}  # None: the default, H + 0.1 I
    opt = rkhs.optim.KernelSGD(layer.parameters(), lr=0.2, preconditioned=[layer.weight], kernel="rbf:gamma=0.1",
                               mode=mode, momentum=0.5, **given)
    for xb, yb in zip(x, y):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(layer(xb), yb).backward()
        opt.set_batch_inputs(xb)
        opt.step()
    w, b = kernel_sgd_numpy(w0, b0, [t.numpy() for t in x], [t.numpy() for t in y], 5, 0.2, 0.1, mode, 0.5,
                            0.1 if damping is None else damping)
    np.testing.assert_allclose(layer.weight.detach().numpy(), w, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(layer.bias.detach().numpy(), b, rtol=1e-8, atol=1e-10)


def test_kernel_sgd_rejects_bad_use():
    layer = torch.nn.Linear(3, 2)
    with pytest.raises(rkhs.Error, match="matrix"):
        rkhs.optim.KernelSGD(layer.parameters(), lr=0.1, preconditioned=[layer.bias])
    with pytest.raises(rkhs.Error, match="not among"):
        rkhs.optim.KernelSGD([layer.bias], lr=0.1, preconditioned=[layer.weight])
    with pytest.raises(rkhs.Error):
        rkhs.optim.KernelSGD(layer.parameters(), lr=0.1, preconditioned=[layer.weight], kernel="nosuch")
    opt = rkhs.optim.KernelSGD(layer.parameters(), lr=0.1, preconditioned=[layer.weight])
    layer(torch.randn(4, 3)).sum().backward()
    with pytest.raises(rkhs.Error, match="set_batch_inputs"):
        opt.step()


def quadratic(x, a):
    return 0.5 * (a * x * x).sum()  # Hessian diag(a)


def test_adahessian_follows_its_update_on_a_diagonal_quadratic():
    # With a diagonal Hessian, |z * Hz| = |a| for every Rademacher z: the update is deterministic.
    a = torch.tensor([1.0, 4.0, 0.25, 2.0], dtype=torch.float64)
    x = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0, 0.5], dtype=torch.float64))
    opt = rkhs.optim.AdaHessian([x], lr=0.1, betas=(0.9, 0.99), eps=1e-4, weight_decay=0.01)
    assert opt.needs_graph
    xn, m, v = x.detach().numpy().copy(), np.zeros(4), np.zeros(4)
    an = a.numpy()
    for t in range(1, 6):
        opt.zero_grad()
        quadratic(x, a).backward(create_graph=True)
        opt.step()
        g = an * xn
        m, v = 0.9 * m + 0.1 * g, 0.99 * v + 0.01 * an ** 2
        update = (m / (1 - 0.9 ** t)) / (np.sqrt(v) / np.sqrt(1 - 0.99 ** t) + 1e-4) + 0.01 * xn
        xn = xn - 0.1 * update
    np.testing.assert_allclose(x.detach().numpy(), xn, rtol=1e-10)
    assert x.grad is None or not x.grad.requires_grad


def test_esgd_follows_its_update_with_the_same_random_vectors():
    a = torch.tensor([1.0, 3.0, 0.5], dtype=torch.float64)
    x = torch.nn.Parameter(torch.tensor([2.0, -1.0, 1.0], dtype=torch.float64))
    opt = rkhs.optim.ESGD([x], lr=0.05, update_every=2, damping=1e-3)
    xn, d, an = x.detach().numpy().copy(), np.zeros(3), a.numpy()
    for step in range(6):
        update = step % 2 == 0
        assert opt.needs_graph == update
        opt.zero_grad()
        quadratic(x, a).backward(create_graph=update)
        if update:
            torch.manual_seed(100 + step)
            vec = torch.randn(3, dtype=torch.float64).numpy()  # what the C++ step draws after the same seed
            d = d + (an * vec) ** 2
        torch.manual_seed(100 + step)
        opt.step()
        xn = xn - 0.05 * (an * xn) / (np.sqrt(d / (step // 2 + 1)) + 1e-3)
    np.testing.assert_allclose(x.detach().numpy(), xn, rtol=1e-10)


def test_curvature_optimizers_need_the_graph():
    x = torch.nn.Parameter(torch.ones(3))
    opt = rkhs.optim.AdaHessian([x])
    (x * x).sum().backward()  # no create_graph
    with pytest.raises(rkhs.Error, match="create_graph"):
        opt.step()
    with pytest.raises(rkhs.Error, match="add_param_group"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))]})
