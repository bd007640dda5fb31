#pragma once
// How close learned eigenpairs are to reference ones (paper 002 §5, REFERENCE.md §3).
#include <ATen/core/Tensor.h>

namespace rkhs::spectral {

// |est_j - ref_j| / |ref_j| per eigenvalue: (k,) float64.
at::Tensor eigenvalue_relative_error(const at::Tensor& estimated, const at::Tensor& reference);
// Sign-free alignment per eigenfunction: |cos| between column j of a and of b (m, k) evaluated on the same points;
// (k,) float64, 0 for a zero column.
at::Tensor alignment(const at::Tensor& a, const at::Tensor& b);
// ||Psi^T Psi / m - I||_F for Psi (m, k): 0 for orthonormal eigenfunctions (unit mean square).
double orthogonality_error(const at::Tensor& psi);

}  // namespace rkhs::spectral
