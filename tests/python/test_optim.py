import numpy as np
import pytest
import torch

import rkhs


def kernel_sgd_numpy(w, b, x, y, steps, lr, gamma, mode, momentum):
    """Algorithm 1 of paper 001 for a linear softmax layer, in float64 numpy: W <- W - lr dJ/dW H^-1 (eq. 5) with
    H the RBF kernel matrix of the batch inputs, the bias by plain SGD, momentum as torch SGD."""
    w, b = w.copy(), b.copy()
    bw, bb = np.zeros_like(w), np.zeros_like(b)
    for xb, yb in zip(x, y):
        logits = xb @ w.T + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(yb)), yb] -= 1
        gw, gb = p.T @ xb / len(yb), p.mean(0)
        h = np.exp(-gamma * ((xb[:, None, :] - xb[None, :, :]) ** 2).sum(-1))
        hinv = np.linalg.inv(h)
        m, d = hinv.shape[0], w.shape[1]
        if m >= d:
            gw = gw @ hinv[:d, :d]
        else:
            rest = gw[:, m:] if mode == "corrected" else np.zeros_like(gw[:, m:])
            gw = np.concatenate([gw[:, :m] @ hinv, rest], axis=1)
        bw, bb = momentum * bw + gw, momentum * bb + gb
        w, b = w - lr * bw, b - lr * bb
    return w, b


@pytest.mark.parametrize("mode,batch", [("faithful", 4), ("corrected", 4), ("faithful", 12)])
def test_kernel_sgd_follows_algorithm_1(mode, batch):
    gen = torch.Generator().manual_seed(3)
    layer = torch.nn.Linear(6, 3).double()
    x = [torch.randn(batch, 6, dtype=torch.float64, generator=gen) for _ in range(5)]
    y = [torch.randint(0, 3, (batch,), generator=gen) for _ in range(5)]
    w0, b0 = layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy()
    opt = rkhs.optim.KernelSGD(layer.parameters(), lr=0.2, preconditioned=[layer.weight], kernel="rbf:gamma=0.1",
                               mode=mode, momentum=0.5)
    for xb, yb in zip(x, y):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(layer(xb), yb).backward()
        opt.set_batch_inputs(xb)
        opt.step()
    w, b = kernel_sgd_numpy(w0, b0, [t.numpy() for t in x], [t.numpy() for t in y], 5, 0.2, 0.1, mode, 0.5)
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
