"""The installed Python package: imported from the install prefix (argv[1]), it finds librkhs through its RPATH."""
import sys

import torch

import rkhs

assert rkhs.__file__.startswith(sys.argv[1]), f"imported {rkhs.__file__}, not the installed package"
value = rkhs.kernels.gram("rbf", torch.ones(2, 3)).sum().item()
assert value == 4.0, value
print("python package ok")
