"""Optimizers as ``torch.optim.Optimizer`` s.

``KernelSGD`` is Kernel SGD (paper 001, Algorithm 1; rkhs/optim/kernel_sgd.h): the preconditioned parameters
(the last layer's weight) move by ``lr * dJ/dW * H^-1`` (eq. 5), where H is the kernel matrix of the current
mini-batch's inputs to that layer; every other parameter gets the plain SGD (or momentum) step. ``ESGD`` and
``AdaHessian`` are the paper's diagonal-curvature baselines (rkhs/optim/curvature.h), run by the C++ optimizers on
the Python parameters: call ``loss.backward(create_graph=opt.needs_graph)`` before ``step()``.
"""
import torch

from . import _C


class KernelSGD(torch.optim.Optimizer):
    """Kernel SGD.

    params: the parameters (or groups) to optimise; preconditioned: the matrices that get eq. 5 (each must be in
    params; usually ``[model.fc.weight]``); kernel: the kernel spec of H (``rbf:gamma=0.01``, ``linear``, ...);
    mode: ``faithful`` (the paper: with fewer batch points m than inputs d_in, gradient columns >= m become zero)
    or ``corrected`` (those columns keep the plain gradient); damping: H + damping I before inverting (0.1: with
    the RBF kernel no direction moves further than 10 SGD steps; 0: the paper's plain inverse, which diverges
    where the batch kernel matrix is near singular, as on low-dimensional inputs);
    ``kernel="random-psd"`` is the paper's control (H = A A^T / m, A drawn per batch from ``seed``).

    The batch: before each ``step()``, give the preconditioned layer's inputs of this mini-batch with
    ``set_batch_inputs(x)`` (x: (m, d_in), e.g. captured by a forward hook; detached). H^-1 is computed in float64
    (a pseudo-inverse, with an rkhs.Warning, where H is singular). ``step()`` without inputs raises rkhs.Error.
    """

    def __init__(self, params, lr, preconditioned, kernel="rbf:gamma=0.01", mode="corrected", momentum=0.0,
                 weight_decay=0.0, damping=0.1, seed=0):
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


class _CppCurvatureOptimizer(torch.optim.Optimizer):
    """A torch.optim.Optimizer whose step runs a C++ optimizer of rkhs on the same parameters. Learning rates and
    weight decays are read from ``param_groups`` at every step (schedulers work); the curvature and moment buffers
    live in C++ and travel in ``state_dict()`` as the bytes of its checkpoint format (key ``rkhs_engine``), which
    ``load_state_dict`` restores; ``add_param_group`` after construction is refused."""

    def __init__(self, params, defaults, make_engine):
        super().__init__(params, defaults)
        self._engine = make_engine([list(g["params"]) for g in self.param_groups])

    @property
    def needs_graph(self):
        """True when the next step() needs the gradients' graph: ``loss.backward(create_graph=True)``."""
        return self._engine.needs_graph

    def state_dict(self):
        state = super().state_dict()
        state["rkhs_engine"] = self._engine.state()
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        engine = state_dict.pop("rkhs_engine", None)
        if engine is None:
            raise _C.Error(f"{type(self).__name__}.load_state_dict: no 'rkhs_engine' entry (the C++ buffers); the "
                           "state was not written by an rkhs optimizer")
        super().load_state_dict(state_dict)
        self._engine.load_state(engine)

    def add_param_group(self, param_group):
        if hasattr(self, "_engine"):
            raise _C.Error(f"{type(self).__name__}: add_param_group after construction is not supported")
        super().add_param_group(param_group)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._engine.step([g["lr"] for g in self.param_groups], [g["weight_decay"] for g in self.param_groups])
        for group in self.param_groups:  # the C++ step detached the gradients after its Hessian-vector products
            for p in group["params"]:
                if p.grad is not None and p.grad.requires_grad:
                    p.grad = p.grad.detach()
        return loss


class ESGD(_CppCurvatureOptimizer):
    """Equilibrated SGD (Dauphin et al. 2015): every ``update_every`` steps D += (H v)^2, v ~ N(0, I); each step
    theta -= lr * g / (sqrt(D / i) + damping), g with L2 weight decay. ``needs_graph`` on the update steps."""

    def __init__(self, params, lr=0.01, weight_decay=0.0, update_every=20, damping=1e-4):
        if lr <= 0:
            raise _C.Error(f"ESGD: lr must be > 0, got {lr}")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay),
                         lambda groups: _C.make_esgd(groups, update_every, damping))


class AdaHessian(_CppCurvatureOptimizer):
    """AdaHessian (Yao et al. 2021): Hutchinson's diagonal |z * Hz| (Rademacher z; spatially averaged for 4-D
    kernels) in Adam-like moments, theta -= lr * (m_hat / (sqrt(v_hat)^k + eps) + weight_decay * theta).
    ``needs_graph`` on every step."""

    def __init__(self, params, lr=0.15, betas=(0.9, 0.999), eps=1e-4, hessian_power=1.0, weight_decay=0.0):
        if lr <= 0:
            raise _C.Error(f"AdaHessian: lr must be > 0, got {lr}")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay),
                         lambda groups: _C.make_adahessian(groups, betas[0], betas[1], eps, hessian_power))
