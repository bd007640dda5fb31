"""Layers as ``torch.nn.Module`` s whose parameters live in Python (``state_dict``, ``.to()``, any
``torch.optim`` optimizer and ``DistributedDataParallel`` work as for PyTorch's own layers).

``KernelizedHead`` is the kernelized classification layer of paper 000 (eq. 3-7; rkhs/classify/kcl.h), a drop-in
replacement for ``torch.nn.Linear(in_features, num_classes)`` before a softmax cross-entropy; ``SoftmaxHead`` is
its baseline.
"""
import math

import torch

from . import _C

_DEFAULT_TEMPERATURE = {"relu": 1.0, "sigmoid": 0.1, "softmax": 0.005, "none": 1.0}


class KernelizedHead(torch.nn.Module):
    """logits_j = k(<z^, w^_j>) / T with the learned series kernel k(t) = sum_m a_m t^m (+ indicator terms).

    in_features: d; num_classes: C; order: M (>= 0), the kernel's degree; activation: how the raw coefficients
    become a_m >= 0 (relu, sigmoid, softmax or none); temperature: T (None: 1 for relu and none, 0.1 sigmoid,
    0.005 softmax); indicator_eps: the tolerance of the t = +-1 indicators. Parameters: ``weight`` (C, d), the
    class vectors, and ``alpha_raw`` (M + 3,). The same defaults and initialisation as ``rkhs classify
    --head kernelized``; ``parameter_groups(weight_decay)`` gives alpha_raw its own decay (1e-4 for relu) as the CLI
    does.
    """

    def __init__(self, in_features, num_classes, order=10, activation="relu", temperature=None,
                 indicator_eps=1e-6, alpha_weight_decay=None, device=None, dtype=None):
        super().__init__()
        if activation not in _DEFAULT_TEMPERATURE:
            raise _C.Error(f"KernelizedHead: unknown activation '{activation}' (expected relu, sigmoid, softmax "
                           "or none)")
        if in_features < 1 or num_classes < 1 or order < 0:
            raise _C.Error(f"KernelizedHead: need in_features >= 1, num_classes >= 1, order >= 0 (got "
                           f"{in_features}, {num_classes}, {order})")
        if not 0 <= indicator_eps < 1:
            raise _C.Error(f"KernelizedHead: indicator_eps must be in [0, 1), got {indicator_eps}")
        self.in_features, self.num_classes, self.order = in_features, num_classes, order
        self.activation = activation
        self.temperature = _DEFAULT_TEMPERATURE[activation] if temperature is None else float(temperature)
        if self.temperature <= 0:
            raise _C.Error(f"KernelizedHead: temperature must be > 0, got {self.temperature}")
        self.indicator_eps = float(indicator_eps)
        self.alpha_weight_decay = (1e-4 if activation == "relu" else 0.0) if alpha_weight_decay is None \
            else float(alpha_weight_decay)
        factory = {"device": device, "dtype": dtype}
        self.weight = torch.nn.Parameter(torch.empty(num_classes, in_features, **factory))
        self.alpha_raw = torch.nn.Parameter(torch.empty(order + 3, **factory))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            self.weight.normal_(0.0, 1.0 / math.sqrt(self.in_features))  # only the direction matters
            self.alpha_raw.fill_(1.0 if self.activation in ("relu", "none") else 0.0)

    def alpha(self):
        """The effective coefficients (a_-2, a_-1, a_0, ..., a_M), differentiable."""
        if self.activation == "relu":
            return torch.relu(self.alpha_raw)
        if self.activation == "sigmoid":
            return torch.sigmoid(self.alpha_raw)
        if self.activation == "softmax":
            return torch.softmax(self.alpha_raw, 0)
        return self.alpha_raw

    def forward(self, z):
        """z (B, d) -> logits (B, C)."""
        return _C.kcl_logits(z, self.weight, self.alpha(), self.indicator_eps, self.temperature)

    def parameter_groups(self, weight_decay=0.0):
        """Optimizer parameter groups: ``weight`` with ``weight_decay``, ``alpha_raw`` with its own decay."""
        return [{"params": [self.weight], "weight_decay": weight_decay},
                {"params": [self.alpha_raw], "weight_decay": self.alpha_weight_decay}]

    def extra_repr(self):
        return (f"in_features={self.in_features}, num_classes={self.num_classes}, order={self.order}, "
                f"activation={self.activation}, temperature={self.temperature:g}")


class SoftmaxHead(torch.nn.Module):
    """The softmax baseline of paper 000: logits = W z + b (normalize="none") or W z^ + b with z^ = z / ||z||
    (normalize="embedding", the paper's baseline and the CLI's default)."""

    def __init__(self, in_features, num_classes, normalize="embedding", device=None, dtype=None):
        super().__init__()
        if normalize not in ("none", "embedding"):
            raise _C.Error(f"SoftmaxHead: normalize must be none or embedding, got '{normalize}'")
        self.normalize = normalize
        self.linear = torch.nn.Linear(in_features, num_classes, device=device, dtype=dtype)

    def forward(self, z):
        if self.normalize == "embedding":
            z = z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return self.linear(z)
