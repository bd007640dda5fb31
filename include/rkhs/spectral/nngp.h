#pragma once
// NN-GP kernels of ReLU MLPs (paper 002 §4.2, eq. 19), as kernels of the registry interface.
// The network: h_1 = W_1 x + b_1, h_{l+1} = W_{l+1} relu(h_l) + b_{l+1} (l = 1..L), g(x) = h_{L+1} (a scalar),
// W_l ~ N(0, weight_var / fan_in), b_l ~ N(0, bias_var).
//   Analytic (infinite width): K_1(x, x') = bias_var + weight_var x^T x' / d and
//     K_{l+1} = bias_var + weight_var / (2 pi) sqrt(K_l(x, x) K_l(x', x')) J_1(theta_l),  cos theta_l = K_l(x, x') /
//     sqrt(K_l(x, x) K_l(x', x')), J_1 = sin theta + (pi - theta) cos theta; the kernel is K_{L+1}.
//   Monte Carlo (eq. 19): (1/S) sum_s g(x, theta_s) g(x', theta_s) over S networks of finite width, drawn once
//     from the seed (a fixed kernel). For one hidden layer its expectation is the analytic kernel at any width;
//     deeper, it approaches it as the width grows.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rkhs/kernels/kernel.h"

namespace rkhs::spectral {

struct NNGPOptions {
  int64_t input_dim = 1;
  int64_t depth = 2;          // hidden ReLU layers L
  double weight_var = 2.0;
  double bias_var = 1.0;
  int64_t width = 16;         // Monte Carlo only
  int64_t samples = 10000;    // S, Monte Carlo only
  uint64_t seed = 0;          // Monte Carlo only
};

class NNGPReluKernel : public kernels::Kernel {
 public:
  explicit NNGPReluKernel(NNGPOptions options);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }

 private:
  NNGPOptions o_;
};

class NNGPMonteCarloKernel : public kernels::Kernel {
 public:
  explicit NNGPMonteCarloKernel(NNGPOptions options);
  // (n, d) x (m, d) -> (n, m), no gradient (the kernel is an estimate), in blocks of 256 rows.
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  // g(x, theta_s) for all S networks: (n, S).
  at::Tensor features(const at::Tensor& x) const;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }
  int64_t samples() const { return o_.samples; }

 private:
  NNGPOptions o_;
  std::vector<at::Tensor> weights_, biases_;  // layer l: (S, in, out), (S, 1, out)
};

}  // namespace rkhs::spectral
