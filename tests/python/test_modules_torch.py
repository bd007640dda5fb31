"""Every rkhs.nn module behaves like a PyTorch module: state_dict into a fresh instance reproduces the output,
.to(float64) converts parameters and output, and DistributedDataParallel (one gloo process, a FileStore in a
temporary folder) wraps it with the same output and gradients as the bare module."""
import copy

import pytest
import torch
import torch.distributed as dist

import rkhs

MODULES = {
    "KernelizedHead": (lambda: rkhs.nn.KernelizedHead(6, 3), lambda g: torch.randn(5, 6, generator=g)),
    "SoftmaxHead": (lambda: rkhs.nn.SoftmaxHead(6, 3), lambda g: torch.randn(5, 6, generator=g)),
    "CosineHead": (lambda: rkhs.nn.CosineHead(6, 3), lambda g: torch.randn(5, 6, generator=g)),
    "SOPHead": (lambda: rkhs.nn.SOPHead(6, 3), lambda g: torch.randn(5, 6, generator=g)),
    "KervoHead": (lambda: rkhs.nn.KervoHead(6, 3, kind="rbf"), lambda g: torch.randn(5, 6, generator=g)),
    "SphereKernelHead": (lambda: rkhs.nn.SphereKernelHead(6, 3, kind="rbf-learned"),
                         lambda g: torch.randn(5, 6, generator=g)),
    "MKLHead": (lambda: rkhs.nn.MKLHead(6, 3), lambda g: torch.randn(5, 6, generator=g)),
    "CKNLayer": (lambda: rkhs.nn.CKNLayer(1, 4), lambda g: torch.rand(2, 1, 8, 8, generator=g)),
    "CKN": (lambda: rkhs.nn.CKN(1, filters=(4, 6)), lambda g: torch.rand(2, 1, 8, 8, generator=g)),
    "KernelLinear": (lambda: rkhs.nn.KernelLinear(6, 4), lambda g: torch.randn(5, 6, generator=g)),
    "SparseKernelLinear": (lambda: rkhs.nn.SparseKernelLinear(6, 4), lambda g: torch.randn(5, 6, generator=g)),
}


@pytest.fixture(scope="module")
def process_group(tmp_path_factory):
    store = tmp_path_factory.mktemp("ddp") / "store"
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_state_dict_and_to(name, generator):
    make, data = MODULES[name]
    torch.manual_seed(1)
    module = make()
    x = data(generator)
    fresh = make()
    fresh.load_state_dict(module.state_dict())
    assert torch.equal(fresh(x), module(x))
    wide = copy.deepcopy(module).to(torch.float64)
    assert all(p.dtype == torch.float64 for p in wide.parameters())
    out = wide(x.double())
    assert out.dtype == torch.float64
    torch.testing.assert_close(out.float(), module(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_distributed_data_parallel(name, generator, process_group):
    make, data = MODULES[name]
    torch.manual_seed(2)
    bare = make()
    wrapped = torch.nn.parallel.DistributedDataParallel(copy.deepcopy(bare))
    x = data(generator)
    out_bare, out_ddp = bare(x), wrapped(x)
    assert torch.equal(out_ddp, out_bare)
    out_bare.square().sum().backward()
    out_ddp.square().sum().backward()
    for (n, p), q in zip(bare.named_parameters(), wrapped.module.parameters()):
        if p.grad is None:
            assert q.grad is None, n
        else:
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-6, atol=1e-7, msg=n)
