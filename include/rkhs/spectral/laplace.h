#pragma once
// The linearised Laplace approximation for a binary classifier with one logit g (paper 002 §4.3, eq. 21-22),
// in a feature space f(x) (k,) where the kernel of the posterior GP is f(x)^T Sigma f(x'):
//   Sigma = [ sum_i Lambda_i f(x_i) f(x_i)^T + I / sigma0^2 ]^-1,  Lambda_i = s_i (1 - s_i), s_i = sigmoid(g(x_i))
// (the Gauss-Newton matrix of the logistic likelihood at the MAP, Woodbury-reduced to k x k as in appendix A.3).
//   eq. 22 (NeuralEF)      f(x) = [sqrt(mu_1) psi_1(x), .., sqrt(mu_k) psi_k(x)] of the NTK at the MAP;
//   last-layer Laplace     f(x) = [h(x), 1], the last layer's inputs (its Jacobian), exact.
// The predictive probability averages sigmoid(g(x) + sqrt(v(x)) eps) over Monte Carlo draws eps ~ N(0, 1),
// v(x) = f(x)^T Sigma f(x). sigma0^2 = 1 / (N * weight decay) for a network trained with that L2 penalty.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rkhs::spectral {

struct BinaryLaplace {
  at::Tensor covariance;  // Sigma (k, k) float64
  // v(x) for features (m, k): (m,) float64.
  at::Tensor variance(const at::Tensor& features) const;
};

// features (N, k) and logits (N,) of the training points at the MAP.
BinaryLaplace fit_binary_laplace(const at::Tensor& features, const at::Tensor& logits, double prior_variance);

// Monte Carlo predictive probability of class 1: (m,) float64 (variance 0 gives sigmoid(logit)).
at::Tensor laplace_predictive(const at::Tensor& logits, const at::Tensor& variance, int64_t samples, uint64_t seed);

// Binary metrics of probabilities p of class 1 against labels y in {0, 1}: mean negative log-likelihood, expected
// calibration error over `bins` equal-width confidence bins (confidence max(p, 1 - p)), predictive entropy per
// point (nats), and the AUROC of a score separating `positive` points from the others.
double binary_nll(const at::Tensor& p, const at::Tensor& y);
double binary_ece(const at::Tensor& p, const at::Tensor& y, int64_t bins = 15);
at::Tensor binary_entropy(const at::Tensor& p);
double auroc(const at::Tensor& score_negative, const at::Tensor& score_positive);

}  // namespace rkhs::spectral
