import numpy as np
import pytest
import torch

import rkhs


def exact_eigenvalues(x, gamma, k):
    xn = x.numpy()
    K = np.exp(-gamma * (xn[:, None, 0] - xn[None, :, 0]) ** 2)
    return np.sort(np.linalg.eigvalsh(K))[::-1][:k] / len(xn)


def test_neuralef_recovers_the_top_rbf_eigenvalues():
    # The paper's 1-D setting: RBF kernel on U[-2, 2]; `rkhs eigen`'s defaults (2,000 iterations, Rayleigh-Ritz).
    x = torch.rand(2048, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 4 - 2
    eigenvalues, functions = rkhs.spectral.neuralef(x, "rbf:gamma=0.5", k=10, seed=1)
    exact = exact_eigenvalues(x, 0.5, 5)
    np.testing.assert_allclose(eigenvalues[:5].numpy(), exact, rtol=0.03)
    psi = functions(x)
    assert psi.shape == (2048, 10) and psi.dtype == torch.float64
    np.testing.assert_allclose((psi[:, :5] ** 2).mean(0).numpy(), np.ones(5), rtol=0.05)  # unit mean square


def test_nystrom_is_exact_on_its_points():
    x = torch.rand(300, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 4 - 2
    eigenvalues, functions = rkhs.spectral.nystrom(x, "rbf:gamma=0.5", k=6)
    np.testing.assert_allclose(eigenvalues.numpy(), exact_eigenvalues(x, 0.5, 6), rtol=1e-8)
    psi = functions(x)
    np.testing.assert_allclose((psi.T @ psi / 300).numpy(), np.eye(6), atol=1e-6)  # orthonormal on x


def test_spectral_bad_input_raises():
    with pytest.raises(rkhs.Error, match="k must be"):
        rkhs.spectral.neuralef(torch.rand(10, 1), k=20, iterations=1)
    with pytest.raises(rkhs.Error, match="NaN"):
        rkhs.spectral.neuralef(torch.full((10, 1), float("nan")), k=2, iterations=1)
    with pytest.raises(rkhs.Error):
        rkhs.spectral.nystrom(torch.rand(10, 1), k=0)
    _, f = rkhs.spectral.neuralef(torch.rand(20, 1), k=2, iterations=2, batch_size=8)
    with pytest.raises(rkhs.Error, match="points must be"):
        f(torch.rand(5, 3))
