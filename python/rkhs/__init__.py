"""rkhs: kernel methods inside deep networks, from PyTorch.

The same C++ core as the ``rkhs`` command line: ``rkhs.kernels`` (the kernel registry), ``rkhs.nn`` (layers as
``torch.nn.Module`` s), ``rkhs.optim`` (optimizers as ``torch.optim.Optimizer`` s), ``rkhs.ops`` (the tensor
operations, also registered as ``torch.ops.rkhs.*``) and ``rkhs.run`` (any CLI command, returning its JSON
result). See docs/PYTHON.md.
"""
import json as _json

import torch  # noqa: F401  (loads LibTorch before the extension)

from . import _C
from ._C import DivergenceError, Error, Warning  # noqa: A004  (rkhs.Warning: the category of rkhs warnings)

__version__ = "0.1.0"
torch_version = _C.torch_version

from . import kernelnet, kernels, nn, ops, optim, spectral  # noqa: E402
from ._rng import keeps_global_rng as _keeps_global_rng  # noqa: E402


def load_model_state(path, prefix=""):
    """The tensors of a ``model.pt`` written by the CLI (``--out``) or by ``save_model_state``: a dict {name: tensor}.
    With ``prefix`` only the names that start with it, prefix removed: ``head.load_state_dict(
    rkhs.load_model_state("runs/r/model.pt", "head."))`` puts a CLI classifier's head into ``rkhs.nn.KernelizedHead``.
    Read by the C++ side's reader (not ``torch.load``, whose ``weights_only`` default of PyTorch >= 2.6 refuses
    LibTorch's pickled dicts); a missing, corrupt or other file raises ``rkhs.Error``.
    """
    state = _C.load_state(str(path))
    return {name[len(prefix):]: t for name, t in state.items() if name.startswith(prefix)}


def save_model_state(module_or_state, path, prefix=""):
    """Writes a module's ``state_dict()`` (or a dict of tensors) as the C++ side writes ``model.pt``: a pickled
    {name: tensor} dict of CPU tensors, written atomically (temporary file, fsync, rename), names prefixed with
    ``prefix``. C++ reads it with ``rkhs::core::load_weights``."""
    state = module_or_state.state_dict() if isinstance(module_or_state, torch.nn.Module) else module_or_state
    _C.save_state({prefix + name: t for name, t in state.items()}, str(path))


@_keeps_global_rng
def run(args, quiet=True):
    """Runs one ``rkhs`` command in this process and returns its result as a dict.

    ``args`` is the command line without the program name, e.g.
    ``rkhs.run(["classify", "--data", "sphere", "--epochs", "5"])``; ``--json`` is added when missing. The dict
    is the command's ``--json`` line. ``quiet`` hides the progress lines. Errors (a bad flag, a bad file, a
    diverged run) raise ``rkhs.Error`` with the CLI's one-line message. ``--help`` returns ``{"help": text}``.
    """
    args = [str(a) for a in args]
    if not args:
        raise Error("rkhs.run: give a command, e.g. rkhs.run(['classify', '--help'])")
    wants_help = any(a in ("-h", "--help", "--version") for a in args)
    if not wants_help and "--json" not in args and args[0] != "kernels":
        args.append("--json")
    text = _C.run_cli(args, quiet)
    if wants_help or args[0] == "kernels":
        return {"help": text}
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return _json.loads(line)
    raise Error("rkhs.run: the command printed no JSON result")
