#pragma once
// The Nystrom method (paper 002 §2.2, eq. 8): the exact top-k eigenpairs of the kernel matrix of N points and their
// out-of-sample extension, the reference NeuralEF is measured against. With K = k(X, X) = U diag(lambda) U^T
// (float64, descending):
//   eigenvalues       mu_j = lambda_j / N                    (of the kernel's integral operator)
//   eigenfunctions    psi_j(x) = (sqrt(N) / lambda_j) k(x, X) u_j   (eq. 8; psi_j(X) = sqrt(N) u_j, unit mean square)
// Costs O(N^2) kernel evaluations and memory and O(N^3) time for the eigendecomposition (reported).
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "rkhs/kernels/kernel.h"

namespace rkhs::spectral {

struct NystromEigen {
  kernels::KernelPtr kernel;
  at::Tensor points;        // X (N, d), float64
  at::Tensor eigenvalues;   // mu (k,), float64, descending
  at::Tensor vectors;       // U (N, k), float64, unit columns
  at::Tensor features;      // Monte Carlo kernels (nngp.h): Phi(X) (N, S) float64, so that k(x, X) = Phi(x) Phi(X)^T / S
  int64_t null_pairs = 0;   // trailing eigenpairs with mu_j <= 1e-10 mu_1 (numerically zero): psi_j = 0 there
  double gram_seconds = 0, eigh_seconds = 0;
  // psi(x) for x (m, d): (m, k) float64, in blocks of 4096 rows.
  at::Tensor operator()(const at::Tensor& x) const;
};

// For a MonteCarloKernel the network outputs of X are computed once and reused for the extension.
// Throws rkhs::Error for k < 1 or k > N, non-finite kernel values, or N x N above 2^28 entries (2 GiB).
NystromEigen nystrom_eigen(const kernels::KernelPtr& kernel, const at::Tensor& x, int64_t k);

}  // namespace rkhs::spectral
