"""The tensor operations of rkhs, differentiable with autograd (the same functions as ``torch.ops.rkhs.*``).

Errors in the arguments (wrong shapes, an unknown kernel, NaNs where they are checked) raise ``rkhs.Error``.
"""
from . import _C

gram = _C.gram
kernel_diag = _C.kernel_diag
series_kernel = _C.series_kernel
kcl_logits = _C.kcl_logits
kcl_logits_reference = _C.kcl_logits_reference
psd_inverse = _C.psd_inverse
precondition_gradient = _C.precondition_gradient
neuralef_loss = _C.neuralef_loss
neuralef_output_gradient = _C.neuralef_output_gradient
kernel_weight = _C.kernel_weight
pair_dot = _C.pair_dot
sparse_matmul = _C.sparse_matmul
ckn_layer = _C.ckn_layer

__all__ = ["gram", "kernel_diag", "series_kernel", "kcl_logits", "kcl_logits_reference", "psd_inverse",
           "precondition_gradient", "neuralef_loss", "neuralef_output_gradient", "kernel_weight", "pair_dot", "sparse_matmul", "ckn_layer"]
