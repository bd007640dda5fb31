#pragma once
// The Nystrom map of a CKN layer (paper 003 §2, Mairal 2016 eq. 6): L = K^{-1/2} for the symmetric kernel matrix
// K = kappa(Z Z^T) of the filters, regularised as in the reference code: with K = V diag(e) V^T,
//   r_i = sqrt(max(e_i, 0)),  s_i = r_i + eps,  L = V diag(1 / s) V^T.
// The backward pass is the exact derivative of this matrix function (Daleckii-Krein), written by hand because
// autograd through eigh is NaN for repeated eigenvalues:
//   dL = V [(V^T dK V) o Gamma] V^T,  Gamma_ij = (f(e_i) - f(e_j)) / (e_i - e_j) = -1 / (s_i s_j (r_i + r_j)),
// with f(e) = 1 / (sqrt(max(e, 0)) + eps), Gamma_ij = 0 where both e_i, e_j <= 0 (f is constant there), and the
// incoming gradient symmetrised (only symmetric K are meaningful).
#include <ATen/core/Tensor.h>

namespace rkhs::ckn {

// k: (p, p) symmetric, float32 or float64. Returns (p, p). Throws rkhs::Error for a non-square or non-finite k.
at::Tensor inverse_sqrt(const at::Tensor& k, double eps = 1e-2);

}  // namespace rkhs::ckn
