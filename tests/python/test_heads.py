"""The baseline heads of paper 000 in Python (rkhs.nn.SOPHead, KervoHead, SphereKernelHead, MKLHead) against the
C++ heads the CLI trains (classify::make_head, test hook _C._cpp_head_logits): same parameter names and shapes,
same logits for the same parameters."""
import pytest
import torch

import rkhs
from rkhs import _C

D, C = 7, 4
CASES = [
    ("sop", lambda: rkhs.nn.SOPHead(D, C), {}),
    ("kervo-poly", lambda: rkhs.nn.KervoHead(D, C, kind="poly", degree=3), {"kervo_degree": 3}),
    ("kervo-poly", lambda: rkhs.nn.KervoHead(D, C, kind="poly", degree=2), {"kervo_degree": 2}),
    ("kervo-rbf", lambda: rkhs.nn.KervoHead(D, C, kind="rbf", gamma=0.7), {"gamma": 0.7}),
    ("rbf", lambda: rkhs.nn.SphereKernelHead(D, C, kind="rbf", sigma=0.8), {"sigma": 0.8}),
    ("rbf-learned", lambda: rkhs.nn.SphereKernelHead(D, C, kind="rbf-learned", sigma=1.3), {"sigma": 1.3}),
    ("poly", lambda: rkhs.nn.SphereKernelHead(D, C, kind="poly", degree=5, temperature=0.2),
     {"poly_degree": 5, "temperature": 0.2}),
    ("mkl", lambda: rkhs.nn.MKLHead(D, C, sigma=0.9, temperature=2.0), {"sigma": 0.9, "temperature": 2.0}),
]


@pytest.mark.parametrize("name, make, options", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_head_equals_the_cpp_head(name, make, options, generator):
    torch.manual_seed(4)
    head = make()
    with torch.no_grad():  # move every parameter off its initial value (learned scales, widths, betas included)
        for p in head.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=generator))
    z = torch.randn(9, D, generator=generator)
    z[0] = 0  # a zero embedding: finite logits on both sides
    ours = head(z)
    theirs = _C._cpp_head_logits(name, D, C, options, dict(head.state_dict()), z)
    assert ours.shape == (9, C) and torch.isfinite(ours).all()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, make, options", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_head_gradcheck_and_groups(name, make, options, generator):
    head = make().double()
    z = torch.randn(3, D, generator=generator, dtype=torch.float64, requires_grad=True)
    params = tuple(head.parameters())
    names = [n for n, _ in head.named_parameters()]

    def logits(z, *ps):
        return torch.func.functional_call(head, dict(zip(names, ps)), (z,)) if hasattr(torch, "func") else \
            torch.nn.utils.stateless.functional_call(head, dict(zip(names, ps)), (z,))

    assert torch.autograd.gradcheck(logits, (z,) + tuple(p.detach().requires_grad_() for p in params))
    if hasattr(head, "parameter_groups"):
        groups = head.parameter_groups(weight_decay=1e-4)
        grouped = [p for g in groups for p in g["params"]]
        assert len(grouped) == len(params) and {id(p) for p in grouped} == {id(p) for p in params}
        exempt = {n for n, p in head.named_parameters() if any(p is q for q in groups[1]["params"])}
        assert exempt == {n for n in names if n.startswith("log_")}


def test_bad_head_arguments_raise(generator):
    with pytest.raises(rkhs.Error, match="kind"):
        rkhs.nn.KervoHead(D, C, kind="cubic")
    with pytest.raises(rkhs.Error, match="sigma"):
        rkhs.nn.SphereKernelHead(D, C, sigma=0)
    with pytest.raises(rkhs.Error, match=r"expected embeddings \(B, 7\)"):
        rkhs.nn.MKLHead(D, C)(torch.randn(2, 5, generator=generator))
