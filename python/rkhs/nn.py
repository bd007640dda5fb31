"""Layers as ``torch.nn.Module`` s whose parameters live in Python (``state_dict``, ``.to()``, any
``torch.optim`` optimizer and ``DistributedDataParallel`` work as for PyTorch's own layers).

``KernelizedHead`` is the kernelized classification layer of paper 000 (eq. 3-7; rkhs/classify/kcl.h), a drop-in
replacement for ``torch.nn.Linear(in_features, num_classes)`` before a softmax cross-entropy; ``SoftmaxHead`` is
its baseline, and ``CosineHead`` the cosine-softmax one. ``CKNLayer`` and ``CKN`` are convolutional kernel networks (paper 003; rkhs/ckn/), with the
unsupervised k-means training of the C++ core. ``KernelLinear`` and ``SparseKernelLinear`` are kernelNet's layers
(paper 004; rkhs/kernelnet/layers.h), drop-in replacements for ``torch.nn.Linear`` whose weight matrices are built
from kernels of low-dimensional location vectors.
"""
import math

import torch

from . import _C
from ._rng import keeps_global_rng

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
        return self.linear(_unit_rows(z) if self.normalize == "embedding" else z)


class CosineHead(torch.nn.Module):
    """The cosine-softmax baseline of paper 000 (LIN): logits_j = s <z^, w^_j> with a learned scale s =
    exp(log_scale), initialised to 1 / temperature (default 10), as ``rkhs classify --head cosine``. Parameters
    ``weight`` (C, d) and ``log_scale`` (); ``parameter_groups`` exempts the scale from weight decay as the CLI
    does (decaying it pulls the logits towards a uniform softmax)."""

    def __init__(self, in_features, num_classes, temperature=0.1, device=None, dtype=None):
        super().__init__()
        if temperature <= 0:
            raise _C.Error(f"CosineHead: temperature must be > 0, got {temperature}")
        self.weight = _sphere_init(num_classes, in_features, device, dtype)
        self.log_scale = torch.nn.Parameter(torch.tensor(-math.log(temperature), device=device, dtype=dtype))

    def forward(self, z):
        return _sphere_cosines(z, self.weight) * self.log_scale.exp()

    def parameter_groups(self, weight_decay=0.0):
        return _groups_without_decay(self, ["log_scale"], weight_decay)


def _unit_rows(x):
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _sphere_cosines(z, w):
    return (_unit_rows(z) @ _unit_rows(w).t()).clamp(-1, 1)


def _check_embeddings(z, dim, head):
    if z.dim() != 2 or z.shape[1] != dim:
        raise _C.Error(f"{head} head: expected embeddings (B, {dim}), got shape {tuple(z.shape)}")


def _linear_init(out_features, in_features, device, dtype):
    bound = 1.0 / math.sqrt(in_features)
    weight = torch.empty(out_features, in_features, device=device, dtype=dtype).uniform_(-bound, bound)
    return torch.nn.Parameter(weight), torch.nn.Parameter(torch.zeros(out_features, device=device, dtype=dtype))


def _sphere_init(num_classes, in_features, device, dtype):
    return torch.nn.Parameter(torch.randn(num_classes, in_features, device=device, dtype=dtype) /
                              math.sqrt(in_features))


def _groups_without_decay(module, exempt, weight_decay):
    named = dict(module.named_parameters())
    return [{"params": [p for n, p in named.items() if n not in exempt], "weight_decay": weight_decay},
            {"params": [named[n] for n in exempt if n in named], "weight_decay": 0.0}]


class SOPHead(torch.nn.Module):
    """Second-order pooling (``rkhs classify --head sop``; bilinear pooling, Lin et al. 2015): u = the upper
    triangle (with the diagonal) of z z^T, row-major; v = u / sqrt(|u| + 1e-10) (the signed square root, smooth at
    0), L2-normalised; logits = W v + b with W (C, d(d+1)/2). Parameters ``weight``, ``bias``."""

    def __init__(self, in_features, num_classes, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.weight, self.bias = _linear_init(num_classes, in_features * (in_features + 1) // 2, device, dtype)

    def features(self, z):
        _check_embeddings(z, self.in_features, "sop")
        rows, cols = torch.triu_indices(self.in_features, self.in_features, device=z.device)
        u = z[:, rows] * z[:, cols]
        return _unit_rows(u / (u.abs() + 1e-10).sqrt())

    def forward(self, z):
        return torch.addmm(self.bias, self.features(z), self.weight.t())


class KervoHead(torch.nn.Module):
    """Kervolution as the classification layer (``--head kervo-poly`` / ``kervo-rbf``), on z^ = z / ||z||:
    poly: logits_j = s (<z^, w_j> + 1)^degree + b_j; rbf: logits_j = s exp(-gamma ||z^ - w_j||^2) + b_j, with
    s = exp(log_scale) learned (initially 1 for poly, 10 for rbf). Parameters ``weight``, ``bias``, ``log_scale``;
    ``parameter_groups`` exempts the scale from weight decay, as the CLI does."""

    def __init__(self, in_features, num_classes, kind="poly", degree=3, gamma=1.0, device=None, dtype=None):
        super().__init__()
        if kind not in ("poly", "rbf"):
            raise _C.Error(f"KervoHead: kind must be poly or rbf, got '{kind}'")
        if kind == "poly" and degree < 1:
            raise _C.Error(f"KervoHead: degree must be >= 1, got {degree}")
        if kind == "rbf" and not gamma > 0:
            raise _C.Error(f"KervoHead: gamma must be > 0, got {gamma}")
        self.kind, self.degree, self.gamma = kind, int(degree), float(gamma)
        self.weight, self.bias = _linear_init(num_classes, in_features, device, dtype)
        self.log_scale = torch.nn.Parameter(torch.tensor(math.log(10.0 if kind == "rbf" else 1.0), device=device,
                                                         dtype=dtype))

    def forward(self, z):
        _check_embeddings(z, self.weight.shape[1], "kervo-" + self.kind)
        zh = _unit_rows(z)
        s = self.log_scale.exp()
        if self.kind == "poly":
            return s * (zh @ self.weight.t() + 1.0).pow(self.degree) + self.bias
        d2 = (zh.square().sum(1, keepdim=True) + self.weight.square().sum(1)[None, :] -
              2.0 * zh @ self.weight.t()).clamp_min(0)
        return s * torch.exp(-self.gamma * d2) + self.bias

    def parameter_groups(self, weight_decay=0.0):
        return _groups_without_decay(self, ["log_scale"], weight_decay)


class SphereKernelHead(torch.nn.Module):
    """A fixed kernel of t = <z^, w^_j> in the kernelized layer's place (paper 000 Table 6; ``--head rbf``,
    ``rbf-learned``, ``poly``): logits_j = s k(t) with s = exp(log_scale) learned, initially 1 / temperature
    (default 10); rbf: k = exp(-(1 - t) / sigma^2) (= exp(-||z^ - w^||^2 / (2 sigma^2))), rbf-learned the same
    with sigma = exp(log_sigma) learned, poly: k = ((t + 1) / 2)^degree. Parameters ``weight``, ``log_scale``
    (and ``log_sigma``); ``parameter_groups`` exempts the scale and width from weight decay, as the CLI does."""

    def __init__(self, in_features, num_classes, kind="rbf", sigma=1.0, degree=10, temperature=0.1, device=None,
                 dtype=None):
        super().__init__()
        if kind not in ("rbf", "rbf-learned", "poly"):
            raise _C.Error(f"SphereKernelHead: kind must be rbf, rbf-learned or poly, got '{kind}'")
        if kind == "poly" and degree < 1:
            raise _C.Error(f"SphereKernelHead: degree must be >= 1, got {degree}")
        if kind != "poly" and not sigma > 0:
            raise _C.Error(f"SphereKernelHead: sigma must be > 0, got {sigma}")
        if not temperature > 0:
            raise _C.Error(f"SphereKernelHead: temperature must be > 0, got {temperature}")
        self.kind, self.sigma, self.degree = kind, float(sigma), int(degree)
        self.weight = _sphere_init(num_classes, in_features, device, dtype)
        self.log_scale = torch.nn.Parameter(torch.tensor(-math.log(temperature), device=device, dtype=dtype))
        if kind == "rbf-learned":
            self.log_sigma = torch.nn.Parameter(torch.tensor(math.log(sigma), device=device, dtype=dtype))

    def forward(self, z):
        _check_embeddings(z, self.weight.shape[1], self.kind)
        t = _sphere_cosines(z, self.weight)
        if self.kind == "poly":
            k = ((t + 1.0) * 0.5).pow(self.degree)
        elif self.kind == "rbf":
            k = torch.exp(-(1.0 - t) / (self.sigma * self.sigma))
        else:
            k = torch.exp(-(1.0 - t) * torch.exp(-2.0 * self.log_sigma))
        return k * self.log_scale.exp()

    def parameter_groups(self, weight_decay=0.0):
        return _groups_without_decay(self, ["log_scale", "log_sigma"], weight_decay)


class MKLHead(torch.nn.Module):
    """Multiple-kernel learning on t = <z^, w^_j> (paper 000 Table 6; ``--head mkl``): logits_j = s (b1 t + b2 t^2 +
    b3 exp(-(1 - t) / sigma^2)) / T with b = softplus(beta_raw) >= 0 learned (initially 1 each), sigma and T fixed
    and s = exp(log_scale) learned (initially 1). Parameters ``weight``, ``beta_raw``, ``log_scale``;
    ``parameter_groups`` exempts the scale from weight decay, as the CLI does."""

    def __init__(self, in_features, num_classes, sigma=1.0, temperature=1.0, device=None, dtype=None):
        super().__init__()
        if not sigma > 0 or not temperature > 0:
            raise _C.Error(f"MKLHead: sigma and temperature must be > 0, got {sigma}, {temperature}")
        self.sigma, self.temperature = float(sigma), float(temperature)
        self.weight = _sphere_init(num_classes, in_features, device, dtype)
        self.beta_raw = torch.nn.Parameter(torch.full((3,), math.log(math.e - 1.0), device=device, dtype=dtype))
        self.log_scale = torch.nn.Parameter(torch.zeros((), device=device, dtype=dtype))

    def forward(self, z):
        _check_embeddings(z, self.weight.shape[1], "mkl")
        t = _sphere_cosines(z, self.weight)
        b = torch.nn.functional.softplus(self.beta_raw)
        k = b[0] * t + b[1] * t * t + b[2] * torch.exp(-(1.0 - t) / (self.sigma * self.sigma))
        return k * (self.log_scale.exp() / self.temperature)

    def parameter_groups(self, weight_decay=0.0):
        return _groups_without_decay(self, ["log_scale"], weight_decay)


def _per_layer(value, depth, name):
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) == 1:
        values = values * depth
    if len(values) != depth:
        raise _C.Error(f"CKN: {name} needs 1 or {depth} values, got {len(values)}")
    return values


class CKNLayer(torch.nn.Module):
    """One CKN layer (paper 003 §2-3): patch responses n_u kappa(<z, x_u> / n_u), Gaussian pooling with
    subsampling s, and the Nystrom map kappa(Z Z^T)^(-1/2). x (B, C, H, W) -> (B, p, ceil(H / s), ceil(W / s)).

    The parameter ``filters`` (p, C h h) holds unit-norm rows (``normalize_filters()`` projects them back after an
    optimiser step); kernel "exp" is kappa(t) = exp((t - 1) / sigma^2), "poly2" is t^2 (for 1x1 patches); eps
    regularises the inverse square root. Initialised with random unit-norm filters; ``CKN.fit_unsupervised`` sets
    them by spherical k-means.
    """

    def __init__(self, in_channels, filters, patch=3, subsample=2, sigma=0.6, kernel="exp", eps=1e-2, device=None,
                 dtype=None):
        super().__init__()
        if patch < 1 or patch % 2 == 0 or subsample < 1 or filters < 1 or in_channels < 1:
            raise _C.Error(f"CKNLayer: need in_channels, filters, subsample >= 1 and an odd patch (got {in_channels}, "
                           f"{filters}, {subsample}, {patch})")
        self.in_channels, self.patch, self.subsample = in_channels, patch, subsample
        self.sigma, self.kernel, self.eps = float(sigma), kernel, float(eps)
        self.filters = torch.nn.Parameter(torch.randn(filters, in_channels * patch * patch, device=device,
                                                      dtype=dtype))
        self.normalize_filters()

    @torch.no_grad()
    def normalize_filters(self):
        self.filters.div_(self.filters.norm(dim=1, keepdim=True).clamp_min(1e-12))

    def forward(self, x):
        return _C.ckn_layer(x, self.filters, self.patch, self.subsample, self.sigma, self.kernel, self.eps)

    def extra_repr(self):
        return (f"in_channels={self.in_channels}, filters={self.filters.shape[0]}, patch={self.patch}, "
                f"subsample={self.subsample}, sigma={self.sigma:g}, kernel={self.kernel}")


class CKN(torch.nn.Module):
    """A stack of CKN layers (``rkhs ckn``'s network): ``filters``, ``patch``, ``subsample`` and ``sigma`` per layer
    (one value: the same for every layer). ``forward`` gives the last map, ``features`` the classifier's input (the
    map flattened, centred and L2-normalised per image), ``fit_unsupervised(images)`` the k-means training."""

    def __init__(self, in_channels=1, filters=(64, 64, 128), patch=3, subsample=2, sigma=0.6, kernel="exp"):
        super().__init__()
        filters = list(filters)
        depth = len(filters)
        self.patch = _per_layer(patch, depth, "patch")
        self.subsample = _per_layer(subsample, depth, "subsample")
        self.sigma = _per_layer(sigma, depth, "sigma")
        self.kernel = kernel
        channels = [in_channels] + filters[:-1]
        self.layers = torch.nn.ModuleList(
            CKNLayer(c, p, h, s, sg, kernel) for c, p, h, s, sg in zip(channels, filters, self.patch, self.subsample,
                                                                       self.sigma))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def features(self, x):
        f = self.forward(x).flatten(1)
        f = f - f.mean(1, keepdim=True)
        return f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)

    @keeps_global_rng
    def fit_unsupervised(self, images, patches=100000, kmeans_iterations=100, max_images=10000, seed=0):
        """Sets every layer's filters by spherical k-means on patches sampled from ``images`` (N, C, H, W), first
        layer first, in the C++ core (as ``rkhs ckn``). Returns a dict: per-layer mean cosine of the k-means fit,
        iterations, seconds."""
        channels = self.layers[0].in_channels
        if images.dim() != 4 or images.shape[1] != channels:
            raise _C.Error(f"CKN.fit_unsupervised: images must be (N, {channels}, H, W) for this network's "
                           f"{channels} input channel(s), got shape {tuple(images.shape)}")
        learned, info = _C.fit_ckn_unsupervised(images, [l.filters.shape[0] for l in self.layers], self.patch,
                                                self.subsample, self.sigma, self.kernel, patches, kmeans_iterations,
                                                max_images, seed)
        with torch.no_grad():
            for layer, z in zip(self.layers, learned):
                layer.filters.copy_(z.to(layer.filters))
        return info


def _glorot_uniform(fan_out, fan_in, shape, factory):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(shape, **factory).uniform_(-limit, limit)


class KernelLinear(torch.nn.Module):
    """kernelNet's kernel layer (paper 004 eq. 14/15): y = x W^T + b with W_ij = alpha_i k(u_i, v_j), u (out, d),
    v (in, d) learned location vectors and k any registry kernel (default tanh, the paper's). d (in + out) + 2 out
    parameters instead of in * out + out. Initialisation as in C++: u, v ~ N(0, 1) / d^(1/4), alpha_i =
    sqrt(2 / (in + out)), b ~ U(+-sqrt(3 / out)). ``penalty()`` is the paper's lambda2 / 2 * sum W^2."""

    def __init__(self, in_features, out_features, dim=5, kernel="tanh", lambda2=20.0, device=None, dtype=None):
        super().__init__()
        if in_features < 1 or out_features < 1 or dim < 1:
            raise _C.Error(f"KernelLinear: in, out and dim must be >= 1 (got {in_features}, {out_features}, {dim})")
        self.kernel = _C.make_kernel(kernel).name  # validates the spec
        self.lambda2 = float(lambda2)
        factory = {"device": device, "dtype": dtype}
        s = dim ** -0.25
        self.u = torch.nn.Parameter(torch.randn(out_features, dim, **factory) * s)
        self.v = torch.nn.Parameter(torch.randn(in_features, dim, **factory) * s)
        self.alpha = torch.nn.Parameter(torch.full((out_features,), math.sqrt(2.0 / (in_features + out_features)),
                                                   **factory))
        self.bias = torch.nn.Parameter(_glorot_uniform(out_features, out_features, (out_features,), factory))

    def weight(self):
        """The effective (out, in) matrix alpha_i k(u_i, v_j)."""
        return _C.kernel_weight(self.kernel, self.u, self.v, self.alpha)

    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight().t())

    def penalty(self):
        return 0.5 * self.lambda2 * self.weight().square().sum()


class SparseKernelLinear(torch.nn.Module):
    """kernelNet's sparse fully-connected layer (paper 004 eq. 16/17): W = A * K_fs(u, v) with the finite-support
    kernel K_fs(u, v) = max(0, 1 - ||u - v||^2) of learned locations, so connections whose locations move apart
    vanish. A and b Glorot-uniform, u and v ~ N(0, 1e-3^2) truncated at 2 std (K ~ 1 at the start), as in C++.
    ``penalty()`` is lambda2 / 2 * sum A^2 + lambda_s / 2 * sum K^2 (``sparsity_penalty="squared"``, the official
    code) or lambda_s * sum K (``"linear"``); ``nonzero_weights()`` counts the connections left."""

    def __init__(self, in_features, out_features, dim=5, lambda2=20.0, lambda_s=0.006, sparsity_penalty="squared",
                 device=None, dtype=None):
        super().__init__()
        if in_features < 1 or out_features < 1 or dim < 1:
            raise _C.Error(f"SparseKernelLinear: in, out and dim must be >= 1 (got {in_features}, {out_features}, "
                           f"{dim})")
        if sparsity_penalty not in ("squared", "linear"):
            raise _C.Error(f"SparseKernelLinear: sparsity_penalty must be squared or linear, got '{sparsity_penalty}'")
        self.lambda2, self.lambda_s, self.sparsity_penalty = float(lambda2), float(lambda_s), sparsity_penalty
        factory = {"device": device, "dtype": dtype}
        self.a = torch.nn.Parameter(_glorot_uniform(out_features, in_features, (out_features, in_features), factory))
        self.u = torch.nn.Parameter(torch.nn.init.trunc_normal_(torch.empty(out_features, dim, **factory), 0, 1e-3,
                                                                -2e-3, 2e-3))
        self.v = torch.nn.Parameter(torch.nn.init.trunc_normal_(torch.empty(in_features, dim, **factory), 0, 1e-3,
                                                                -2e-3, 2e-3))
        self.bias = torch.nn.Parameter(_glorot_uniform(out_features, out_features, (out_features,), factory))

    def kernel_matrix(self):
        """K_fs(u, v), (out, in)."""
        return _C.gram("finite", self.u, self.v)

    def weight(self):
        return self.a * self.kernel_matrix()

    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight().t())

    def penalty(self):
        k = self.kernel_matrix()
        sparsity = 0.5 * self.lambda_s * k.square().sum() if self.sparsity_penalty == "squared" \
            else self.lambda_s * k.sum()
        return 0.5 * self.lambda2 * self.a.square().sum() + sparsity

    @torch.no_grad()
    def nonzero_weights(self):
        return int((self.kernel_matrix() > 0).sum())
