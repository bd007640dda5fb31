"""rkhs.optim.KernelSGD against the C++ optimizer (rkhs::optim::KernelSGD, as the trainer runs it), step for step on
the same model: the Python optimizer trains a small MLP; the C++ one replays the same gradients and batch inputs
on copies of the initial parameters (test hook _C._cpp_kernel_sgd_trajectory); the parameters must agree after
every step."""
import pytest
import torch

import rkhs
from rkhs import _C


def python_trajectory(dtype, batch, mode, momentum, weight_decay, damping, steps=6):
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).to(dtype)
    last = model[2]
    params = list(model.parameters())
    start = [p.detach().clone() for p in params]
    opt = rkhs.optim.KernelSGD(params, lr=0.05, preconditioned=[last.weight], kernel="rbf:gamma=0.5", mode=mode,
                               momentum=momentum, weight_decay=weight_decay, damping=damping)
    captured = {}
    last.register_forward_hook(lambda module, inputs, output: captured.__setitem__("x", inputs[0].detach()))
    gen = torch.Generator().manual_seed(7)
    grads, inputs, after = [], [], []
    for _ in range(steps):
        x = torch.randn(batch, 6, generator=gen, dtype=dtype)
        y = torch.randint(0, 3, (batch,), generator=gen)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        grads.append([p.grad.detach().clone() for p in params])
        inputs.append(captured["x"].clone())
        opt.set_batch_inputs(captured["x"])
        opt.step()
        after.append([p.detach().clone() for p in params])
    preconditioned = [i for i, p in enumerate(params) if p is last.weight]
    return start, preconditioned, grads, inputs, after


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch, mode", [(5, "faithful"), (5, "corrected"), (12, "faithful")])
@pytest.mark.parametrize("momentum, weight_decay, damping", [(0.0, 0.0, 0.0), (0.9, 1e-3, 0.1)])
def test_kernel_sgd_equals_the_cpp_optimizer_step_for_step(dtype, batch, mode, momentum, weight_decay, damping):
    start, preconditioned, grads, inputs, after = python_trajectory(dtype, batch, mode, momentum, weight_decay,
                                                                    damping)
    cpp = _C._cpp_kernel_sgd_trajectory(start, preconditioned, grads, inputs, lr=0.05, momentum=momentum,
                                        weight_decay=weight_decay, mode=mode, kernel="rbf:gamma=0.5",
                                        damping=damping, seed=0)
    assert len(cpp) == len(after)
    for t, (ours, theirs) in enumerate(zip(after, cpp)):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            assert q.dtype == dtype
            assert torch.equal(p, q), f"step {t + 1}, parameter {i}: max difference {(p - q).abs().max().item()}"
    # The trajectory moved, and the preconditioned weight differently from plain SGD (the test can fail).
    w = preconditioned[0]
    assert not torch.equal(after[-1][w], start[w])
    sgd_step = start[w] - 0.05 * (grads[0][w] + weight_decay * start[w])
    assert not torch.allclose(after[0][w], sgd_step)
