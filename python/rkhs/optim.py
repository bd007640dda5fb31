"""Optimizers as ``torch.optim.Optimizer`` s.

``KernelSGD`` is Kernel SGD (paper 001, Algorithm 1; rkhs/optim/kernel_sgd.h): the preconditioned parameters
(the last layer's weight) move by ``lr * dJ/dW * H^-1`` (eq. 5), where H is the kernel matrix of the current
mini-batch's inputs to that layer; every other parameter gets the plain SGD (or momentum) step.
"""
import torch

from . import _C


class KernelSGD(torch.optim.Optimizer):
    """Kernel SGD.

    params: the parameters (or groups) to optimise; preconditioned: the matrices that get eq. 5 (each must be in
    params; usually ``[model.fc.weight]``); kernel: the kernel spec of H (``rbf:gamma=0.01``, ``linear``, ...);
    mode: ``faithful`` (the paper: with fewer batch points m than inputs d_in, gradient columns >= m become zero)
    or ``corrected`` (those columns keep the plain gradient); damping: H + damping I before inverting;
    ``kernel="random-psd"`` is the paper's control (H = A A^T / m, A drawn per batch from ``seed``).

    The batch: before each ``step()``, give the preconditioned layer's inputs of this mini-batch with
    ``set_batch_inputs(x)`` (x: (m, d_in), e.g. captured by a forward hook; detached). H^-1 is computed in float64
    (a pseudo-inverse, with an rkhs.Warning, where H is singular). ``step()`` without inputs raises rkhs.Error.
    """

    def __init__(self, params, lr, preconditioned, kernel="rbf:gamma=0.01", mode="corrected", momentum=0.0,
                 weight_decay=0.0, damping=0.0, seed=0):
        if lr <= 0:
            raise _C.Error(f"KernelSGD: lr must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise _C.Error(f"KernelSGD: momentum must be in [0, 1), got {momentum}")
        if mode not in ("faithful", "corrected"):
            raise _C.Error(f"KernelSGD: mode must be faithful or corrected, got '{mode}'")
        if damping < 0:
            raise _C.Error(f"KernelSGD: damping must be >= 0, got {damping}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))
        self._preconditioner = _C.KernelPreconditioner(kernel, float(damping), seed)
        self.kernel, self.mode, self.damping = kernel, mode, float(damping)
        self._batch = 0
        self._preconditioned = {id(p) for p in preconditioned}
        known = {id(p) for group in self.param_groups for p in group["params"]}
        for p in preconditioned:
            if p.dim() < 2:
                raise _C.Error("KernelSGD: a preconditioned parameter must be a matrix (dim >= 2)")
            if id(p) not in known:
                raise _C.Error("KernelSGD: a preconditioned parameter is not among the optimised parameters")
        self._inverse = None

    def set_batch_inputs(self, x):
        """The preconditioned layer's inputs for the next step: (m, ...) flattened to (m, d_in)."""
        self._inverse = self._preconditioner.inverse(x.detach(), self._batch)
        self._batch += 1

    @property
    def pseudo_inverses(self):
        """How many batch kernel matrices were singular (their pseudo-inverse was used)."""
        return self._preconditioner.pseudo_inverses

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if group["weight_decay"] != 0:
                    d = d.add(p, alpha=group["weight_decay"])
                if id(p) in self._preconditioned:
                    if self._inverse is None:
                        raise _C.Error("KernelSGD: step() before set_batch_inputs() (the inverse kernel matrix of "
                                       "the batch is needed)")
                    d = _C.precondition_gradient(d, self._inverse, self.mode)
                if group["momentum"] > 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = torch.zeros_like(p)
                    buf.mul_(group["momentum"]).add_(d)
                    d = buf
                p.add_(d, alpha=-group["lr"])
        return loss
