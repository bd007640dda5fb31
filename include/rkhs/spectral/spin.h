#pragma once
// Spectral Inference Networks (SpIN, Pfau et al. 2019), the baseline of paper 002 §2.3 (eq. 9), on the same k
// separate MLPs as NeuralEF (their raw outputs f = (f_1..f_k), no L2BN):
//   Sigma = E[f f^T],  Pi = E_{x,x'}[k(x, x') f(x) f(x')^T]  (batch estimates F^T F / B and F^T K F / B^2),
//   L = chol(Sigma),   Lambda = L^-1 Pi L^-T,  maximise Tr(Lambda)  (eq. 9: Psi = L^-1 f is orthonormal).
// The masked gradient orders the eigenfunctions: network a receives only the gradient of Lambda_aa through f_a
// (the functions before it held fixed; Lambda_aa does not depend on the ones after it). Both Sigma, Pi and their
// Jacobians with respect to the parameters are exponential moving averages (decay beta), the debiasing of Pfau et
// al.: the Jacobian of Sigma_ab in the parameters of network a is (1/B) sum_i f_b(x_i) df_a(x_i), so its EMA
// costs k backward passes per step (and k more for Pi) and k x (parameters) memory for each. The contraction
// weights d Lambda_aa / d(Sigma, Pi) come from autograd through the k x k Cholesky factor.
// After training the net evaluates Psi = L^-1 f with L from the final outputs on (a subset of) the data.
#include <ATen/core/Tensor.h>

#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/neuralef.h"

namespace rkhs::spectral {

struct SpINOptions {
  double decay = 0.99;  // beta of the moving averages of Sigma, Pi and their Jacobians
};

// Trains the k separate MLPs of net (architecture "mlp", no shared trunk) by SpIN with the same batches, Adam and
// cosine schedule as train_neuralef, then sets net's output whitening L^-1; the report is filled as for NeuralEF
// (ema_eigenvalues: the diagonal of the moving-average Lambda).
NeuralEFReport train_spin(NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                          const NeuralEFTrainOptions& options, const SpINOptions& spin = {});

// d Lambda_aa / d Sigma and d Lambda_aa / d Pi for every a, as the k x k matrices C_Sigma, C_Pi whose row a holds
// the symmetrised derivative (G + G^T)[a, :] of Lambda_aa (Sigma and Pi treated as symmetric): the masked
// gradient of network a is sum_b C[a, b] * (Jacobian of Sigma_ab or Pi_ab in network a's parameters).
// jitter is added to Sigma's diagonal before the Cholesky factorisation (the trainer finds the smallest that
// works and warns once); throws rkhs::Error if Sigma + jitter is not positive definite.
std::pair<at::Tensor, at::Tensor> spin_contraction(const at::Tensor& sigma, const at::Tensor& pi, double jitter = 0);

}  // namespace rkhs::spectral
