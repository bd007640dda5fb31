"""The C++ fits seed LibTorch's global generator (``torch::manual_seed``, the same generator as ``torch.manual_seed``)
so that a fit is reproducible from its ``seed``. ``keeps_global_rng`` restores the caller's CPU random state
afterwards, so calling a fit does not change the random numbers the caller draws next."""
import functools

import torch


def keeps_global_rng(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch.random.fork_rng(devices=[]):
            return fn(*args, **kwargs)

    return wrapper
