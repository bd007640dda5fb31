#pragma once
// The learned series kernel of the kernelized classification layer (paper 000, Theorem 4.3 and eq. 7):
//
//   k(t) = a_{-2} [t in {-1, 1}] + a_{-1} ([t = 1] - [t = -1]) + sum_{m=0..M} a_m t^m,   t = <u, v>, u, v in S^n
//
// alpha holds (a_{-2}, a_{-1}, a_0, ..., a_M), M + 3 entries, all >= 0 for a positive-definite kernel.
// Floating point: t = <u, v> of normalised vectors is never exactly +-1 for distinct float inputs, so the
// indicators use a tolerance eps: [t = 1] := t >= 1 - eps, [t = -1] := t <= -1 + eps. The indicators are
// piecewise constant, so they pass no gradient to t (their coefficients still get gradients).
#include <ATen/core/Tensor.h>

namespace rkhs::kernels {

// t: any shape, values in [-1, 1]; alpha: (M + 3,). Returns k(t), same shape as t, differentiable in t and
// alpha. The polynomial is evaluated by Horner's rule (M multiply-adds per entry).
at::Tensor series_kernel(const at::Tensor& t, const at::Tensor& alpha, double eps = 1e-6);

}  // namespace rkhs::kernels
