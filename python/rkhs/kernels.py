"""The kernel registry: ``names()``, ``make(spec)`` and ``gram(spec, x, y)``.

A spec is ``"name"`` or ``"name:key=value,key=value"`` (``rbf:gamma=0.5``, ``polynomial:degree=2``); the list
with formulas is ``help()`` (docs/KERNELS.md). ``x`` is (n, d), ``y`` is (m, d); the Gram matrix is (n, m) in the
inputs' dtype and device, differentiable in both.
"""
from . import _C

Kernel = _C.Kernel


def names():
    """The registered kernel names, sorted."""
    return list(_C.kernel_names())


def help():  # noqa: A001  (the registry's help text, as `rkhs kernels` prints it)
    """One line per kernel: name, formula, parameters with defaults."""
    return _C.kernel_help()


def make(spec):
    """A kernel object with ``gram(x, y)``, ``diag(x)``, ``name`` (its canonical spec) and
    ``is_positive_definite``."""
    return _C.make_kernel(spec)


def gram(spec, x, y=None):
    """k(x_i, y_j) for the kernel of ``spec``: (n, d) x (m, d) -> (n, m); ``y`` defaults to ``x``."""
    return _C.gram(spec, x, x if y is None else y)


def diag(spec, x):
    """k(x_i, x_i): (n, d) -> (n,)."""
    return _C.kernel_diag(spec, x)
