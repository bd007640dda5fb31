"""ESGD and AdaHessian keep their curvature and moment buffers in C++; state_dict() carries them (the bytes of the
C++ checkpoint format, key rkhs_engine) and load_state_dict() restores them: an optimizer loaded from a state
continues exactly like the one that wrote it."""
import copy
import io

import pytest
import torch

import rkhs


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()


def train(model, opt, steps, start):
    g = torch.Generator().manual_seed(start)
    for step in range(start, start + steps):
        x, y = torch.randn(16, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (16,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward(create_graph=opt.needs_graph)
        torch.manual_seed(1000 + step)  # the random vectors of the Hessian estimates
        opt.step()


OPTIMIZERS = {
    "esgd": lambda params: rkhs.optim.ESGD(params, lr=0.05, update_every=2),
    "adahessian": lambda params: rkhs.optim.AdaHessian(params, lr=0.05, weight_decay=1e-3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_loaded_state_continues_like_the_original(name):
    model = make_model()
    opt = OPTIMIZERS[name](model.parameters())
    train(model, opt, 5, 0)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)  # through a file, as a user saves it
    clone = copy.deepcopy(model)
    resumed = OPTIMIZERS[name](clone.parameters())
    buffer.seek(0)
    resumed.load_state_dict(torch.load(buffer))
    train(model, opt, 4, 5)
    train(clone, resumed, 4, 5)
    for p, q in zip(model.parameters(), clone.parameters()):
        assert torch.equal(p, q)
    # Without the buffers (a fresh optimizer) the continuation differs: the test can fail.
    fresh_model = copy.deepcopy(clone)
    train(fresh_model, OPTIMIZERS[name](fresh_model.parameters()), 4, 9)
    train(clone, resumed, 4, 9)
    assert not all(torch.equal(p, q) for p, q in zip(fresh_model.parameters(), clone.parameters()))


def test_bad_states_are_refused():
    model = make_model()
    esgd, ada = rkhs.optim.ESGD(model.parameters()), rkhs.optim.AdaHessian(model.parameters())
    with pytest.raises(rkhs.Error, match="written by ESGD, not AdaHessian"):
        ada.load_state_dict(esgd.state_dict())
    state = esgd.state_dict()
    del state["rkhs_engine"]
    with pytest.raises(rkhs.Error, match="rkhs_engine"):
        esgd.load_state_dict(state)
    state["rkhs_engine"] = b"not an archive"
    with pytest.raises(rkhs.Error, match="not an rkhs optimizer state"):
        esgd.load_state_dict(state)
    other = rkhs.optim.ESGD(torch.nn.Linear(2, 2).parameters())  # torch's own check of the groups comes first
    with pytest.raises(ValueError, match="size"):
        other.load_state_dict(esgd.state_dict())
