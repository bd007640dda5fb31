"""Eigenfunctions of a kernel on given points (paper 002): NeuralEF and the Nystrom method.

Both take points x (N, d) and a kernel spec (``rkhs.kernels.names()``), and return ``(eigenvalues, functions)``:
the top-k eigenvalues of the kernel's integral operator under the empirical distribution of x (float64,
descending; the kernel matrix's eigenvalues divided by N) and a callable mapping new points (m, d) to the k
eigenfunctions (m, k), float64, with unit mean square on x.
"""
from . import _C
from ._rng import keeps_global_rng


@keeps_global_rng
def neuralef(x, kernel="rbf:gamma=0.5", k=10, width=32, hidden_layers=2, activation="sincos", iterations=2000,
             batch_size=256, lr=1e-3, seed=0, rayleigh_ritz=True, return_info=False):
    """NeuralEF (paper 002 §3): k small networks trained as the top-k eigenfunctions (``rkhs eigen --method
    neuralef`` with the same defaults; ``rayleigh_ritz=False`` is the paper's method alone). The kernel matrix is
    only computed per batch, so N is not limited by N x N memory. ``return_info=True`` adds a dict (training-EMA
    eigenvalues, captured trace, whether Rayleigh-Ritz was applied, training seconds)."""
    eigenvalues, functions, info = _C.fit_neuralef(x, kernel, k, width, hidden_layers, activation, iterations,
                                                   batch_size, lr, seed, rayleigh_ritz)
    return (eigenvalues, functions, info) if return_info else (eigenvalues, functions)


@keeps_global_rng
def nystrom(x, kernel="rbf:gamma=0.5", k=10):
    """The Nystrom method (paper 002 eq. 8): the exact top-k eigenpairs of the N x N kernel matrix, extended to new
    points (O(N^2) memory; N x N above 2^28 entries is refused)."""
    functions = _C.fit_nystrom(x, kernel, k)
    return functions.eigenvalues, functions
