import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

import rkhs


def test_names_match_the_registry():
    names = rkhs.kernels.names()
    assert names == sorted(names)
    for name in ("rbf", "laplacian", "linear", "polynomial", "series", "arccos"):
        assert name in names
    assert "rbf" in rkhs.kernels.help()


def test_rbf_gram_equals_the_formula(generator):
    x = torch.randn(7, 3, dtype=torch.float64, generator=generator)
    y = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    k = rkhs.kernels.gram("rbf:gamma=0.3", x, y)
    xn, yn = x.numpy(), y.numpy()
    expected = np.exp(-0.3 * ((xn[:, None, :] - yn[None, :, :]) ** 2).sum(-1))
    assert k.shape == (7, 5) and k.dtype == torch.float64
    np.testing.assert_allclose(k.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_polynomial_and_laplacian_equal_their_formulas(generator):
    x = torch.randn(6, 4, dtype=torch.float64, generator=generator)
    xn = x.numpy()
    poly = rkhs.kernels.gram("polynomial:degree=2,offset=1,scale=0.5", x)
    np.testing.assert_allclose(poly.numpy(), (0.5 * xn @ xn.T + 1) ** 2, rtol=1e-12)
    lap = rkhs.kernels.gram("laplacian:gamma=2", x)
    dist = np.sqrt(((xn[:, None, :] - xn[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(lap.numpy(), np.exp(-2 * dist), rtol=1e-10, atol=1e-12)


def test_make_gives_a_kernel_object(generator):
    k = rkhs.kernels.make("rbf:sigma=2")
    assert k.name.startswith("rbf") and k.is_positive_definite
    assert rkhs.kernels.make(k.name).name == k.name  # the canonical spec parses back
    x = torch.randn(9, 2, dtype=torch.float64, generator=generator)
    torch.testing.assert_close(k.diag(x), torch.diagonal(k.gram(x, x)))
    assert not rkhs.kernels.make("tanh").is_positive_definite


def test_torch_ops_equal_the_package_functions(generator):
    x = torch.randn(4, 3, generator=generator)
    torch.testing.assert_close(torch.ops.rkhs.gram("laplacian", x, x), rkhs.kernels.gram("laplacian", x),
                               rtol=0, atol=0)
    torch.testing.assert_close(torch.ops.rkhs.kernel_diag("rbf", x), rkhs.kernels.diag("rbf", x))


@pytest.mark.parametrize("spec", ["rbf:gamma=0.7", "laplacian:gamma=0.5", "polynomial:degree=3", "arccos:order=1",
                                  "expdot:sigma=0.8", "series:order=4"])
def test_gram_gradcheck_float64(spec, generator):
    x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    y = torch.randn(4, 3, dtype=torch.float64, generator=generator)
    if rkhs.kernels.make(spec).requires_unit_sphere:
        x, y = x / x.norm(dim=1, keepdim=True), y / y.norm(dim=1, keepdim=True)
    x.requires_grad_(True)
    y.requires_grad_(True)
    assert gradcheck(lambda a, b: rkhs.kernels.gram(spec, a, b), (x, y))
    assert gradcheck(lambda a, b: torch.ops.rkhs.gram(spec, a, b), (x, y))


def test_bad_arguments_raise_rkhs_error(generator):
    with pytest.raises(rkhs.Error, match="nosuchkernel"):
        rkhs.kernels.make("nosuchkernel")
    with pytest.raises(rkhs.Error, match="gamma"):
        rkhs.kernels.gram("rbf:gamma=-1", torch.zeros(2, 2))
    with pytest.raises(RuntimeError):  # rkhs.Error is a RuntimeError; so is LibTorch's own shape error
        rkhs.kernels.gram("rbf", torch.zeros(3, 2), torch.zeros(4, 3))
    with pytest.raises(RuntimeError):
        torch.ops.rkhs.gram("nosuchkernel", torch.zeros(2, 2), torch.zeros(2, 2))



def test_kernel_object_diag_checks_its_shape(generator):
    k = rkhs.kernels.make("rbf:gamma=0.5")
    with pytest.raises(rkhs.Error, match=r"Kernel.diag: x must be an \(n, d\) matrix"):
        k.diag(torch.randn(5, generator=generator))
    assert torch.equal(k.diag(torch.randn(4, 3, generator=generator)), torch.ones(4))
