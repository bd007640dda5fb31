"""NaN or infinite inputs to the operations raise rkhs.Error naming the operation and the argument (checked on the
CPU; on other devices the check would synchronise with the host on every call and is skipped)."""
import pytest
import torch

import rkhs


def bad(*shape, value=float("nan")):
    t = torch.randn(*shape)
    t.view(-1)[1] = value
    return t


CASES = {
    "gram": (lambda: rkhs.ops.gram("rbf", torch.randn(4, 3), bad(5, 3)), "gram: y"),
    "torch.ops gram": (lambda: torch.ops.rkhs.gram("rbf", bad(4, 3), torch.randn(5, 3)), "gram: x"),
    "kernel_diag": (lambda: rkhs.kernels.diag("linear", bad(4, 3, value=float("inf"))), "kernel_diag: x"),
    "Kernel.gram": (lambda: rkhs.kernels.make("laplacian").gram(bad(4, 3), torch.randn(2, 3)), "Kernel.gram: x"),
    "series_kernel": (lambda: rkhs.ops.series_kernel(bad(4, 3).clamp(-1, 1), torch.rand(6)), "series_kernel: t"),
    "kcl_logits": (lambda: rkhs.ops.kcl_logits(torch.randn(4, 3), bad(2, 3), torch.rand(6)), "kcl_logits: w"),
    "KernelizedHead": (lambda: rkhs.nn.KernelizedHead(3, 2)(bad(4, 3)), "kcl_logits: z"),
    "precondition_gradient": (lambda: rkhs.ops.precondition_gradient(bad(3, 4), torch.eye(4)),
                              "precondition_gradient: grad"),
    "neuralef_output_gradient": (lambda: rkhs.ops.neuralef_output_gradient(bad(5, 5), torch.randn(5, 2)),
                                 "neuralef_output_gradient: kernel_matrix"),
    "ckn_layer": (lambda: rkhs.nn.CKNLayer(1, 4)(bad(1, 1, 5, 5, value=float("-inf"))), "ckn_layer: x"),
    "sparse_matmul": (lambda: rkhs.ops.sparse_matmul(torch.tensor([0]), torch.tensor([1]), torch.tensor([1.0]), 2,
                                                     bad(2, 3)), "sparse_matmul: x"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_or_inf_input_raises_a_named_error(name):
    call, message = CASES[name]
    with pytest.raises(rkhs.Error, match=f"^{message} has NaN or infinite entries$"):
        call()
