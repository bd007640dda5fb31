#pragma once
// Pairwise squared Euclidean distances and row norms shared by the kernels (and usable by other areas).
//
// Shapes: x (n, d), y (m, d) -> (n, m). Results keep the inputs' dtype and device and are differentiable; no
// NaN or Inf gradient is produced at zero distance or at zero rows.
#include <ATen/core/Tensor.h>

namespace rkhs::kernels {

// ||x_i - y_j||^2 as ||x_i||^2 + ||y_j||^2 - 2 x_i^T y_j, clamped at 0: one matrix product, O(n m) memory.
// Absolute rounding error about eps_dtype * (||x_i||^2 + ||y_j||^2), so equal rows may give a tiny positive
// value instead of 0 (harmless for smooth functions of the squared distance such as the RBF kernel).
at::Tensor squared_distances(const at::Tensor& x, const at::Tensor& y);

// ||x_i - y_j||^2 summed from the differences: exactly 0 for equal rows, relative error eps_dtype. The
// forward pass works in row blocks and the backward pass uses the closed form
// dL/dx_i = 2 (x_i sum_j G_ij - sum_j G_ij y_j) (and symmetrically for y), so memory stays O(n m); the
// backward is itself differentiable (double backward is exact). Cost O(n m d) without a matrix product.
at::Tensor squared_distances_direct(const at::Tensor& x, const at::Tensor& y);

// Row norms ||x_i|| of x (n, d) -> (n, 1), with the squared norm clamped below by a tiny positive number
// (1e-30 for float32/float64) so that zero rows give a finite (zero) gradient instead of NaN.
at::Tensor safe_row_norms(const at::Tensor& x);

// Checks that x (n, d) and y (m, d) are 2-D floating tensors of one dtype and device with equal d; throws
// rkhs::Error naming `who` and the shapes otherwise.
void check_gram_inputs(const char* who, const at::Tensor& x, const at::Tensor& y);

}  // namespace rkhs::kernels
