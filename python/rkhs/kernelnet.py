"""The item-based AutoRec of paper 004 (sparse FC, kernelNet or dense layers) fitted on rating tensors."""
import torch

from . import _C
from ._rng import keeps_global_rng


def _columns(ratings, what):
    if not isinstance(ratings, torch.Tensor) or ratings.dim() != 2 or ratings.shape[1] != 3:
        raise _C.Error(f"AutoRec: {what} ratings must be an (n, 3) tensor of (user index, item index, rating)")
    return ratings[:, 0].long(), ratings[:, 1].long(), ratings[:, 2].float()


@keeps_global_rng
def autorec(train, test, num_users=None, num_items=None, layer="sparse", layers=2, hidden=500, lambda2=20.0,
            lambda_s=0.006, dim=5, kernel="tanh", outer_loops=20, lbfgs_iterations=50, seed=0):
    """Fits ``rkhs recommend``'s model with a fixed lambda2 (the paper's protocol; ``rkhs recommend`` also chooses
    it on validation) on ``train`` and reports on ``test``: both (n, 3) tensors of (user index, item index,
    rating) with indices from 0. ``layer``: sparse (sparse FC), kernel (kernelNet) or dense (I-AutoRec).

    Returns ``(info, predict)``: a dict (test/train RMSE of clipped predictions, seconds, parameter and weight
    counts, the per-loop history) and a callable ``predict(users, items) -> ratings``.
    """
    tu, ti, tr = _columns(train, "training")
    su, si, sr = _columns(test, "test")
    num_users = int(max(tu.max(), su.max()) + 1) if num_users is None else num_users
    num_items = int(max(ti.max(), si.max()) + 1) if num_items is None else num_items
    return _C.fit_autorec(tu, ti, tr, su, si, sr, num_users, num_items, layer, layers, hidden, lambda2, lambda_s, dim,
                          kernel, outer_loops, lbfgs_iterations, seed)
