#pragma once
// Products with a sparse set of (row, col) pairs, for networks that see only observed entries (the AutoRec of
// paper 004 trains on 1-2% of a rating matrix). Both are custom autograd functions, gradchecked in float64 in
// tests/kernelnet/test_autorec.cpp. On the CPU they run as fused loops over the pairs that never materialise the
// gathered rows (the dense operands stay in cache); on other devices they fall back to index_select/index_add.
// First-order gradients only: a create_graph backward through them is an error. Index tensors must be on the
// operands' device.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rkhs::kernelnet {

// out[k] = h[rows[k]] . w[cols[k]] for h (n, d), w (m, d) and int64 rows, cols (p,): the entries of h w^T at the
// given pairs without forming h w^T (a "sampled dense-dense product"). Differentiable in h and w.
at::Tensor pair_dot(const at::Tensor& h, const at::Tensor& w, const at::Tensor& rows, const at::Tensor& cols);

// y = S x for the sparse (n_rows, x.size(0)) matrix S with entries S[rows[k], cols[k]] = values[k] (repeated pairs
// add up): y[rows[k]] += values[k] * x[cols[k]], y (n_rows, d). Differentiable in x; values are constants (an
// error if they require a gradient).
at::Tensor sparse_matmul(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values, int64_t n_rows,
                         const at::Tensor& x);

}  // namespace rkhs::kernelnet
