#pragma once
// NN-GP kernels (paper 002 §3.3 and §4.2, eq. 19), as kernels of the registry interface.
//
// MLP: h_1 = W_1 x + b_1, h_{l+1} = W_{l+1} phi(h_l) + b_{l+1} (l = 1..L), g(x) = h_{L+1} (a scalar), phi = ReLU or
// erf, W_l ~ N(0, weight_var / fan_in), b_l ~ N(0, bias_var).
//   Analytic (infinite width): K_1(x, x') = bias_var + weight_var x^T x' / d, then
//     ReLU: K_{l+1} = bias_var + weight_var / (2 pi) sqrt(K_l(x, x) K_l(x', x')) J_1(theta_l),
//           cos theta_l = K_l(x, x') / sqrt(K_l(x, x) K_l(x', x')), J_1 = sin theta + (pi - theta) cos theta;
//     erf:  K_{l+1} = bias_var + weight_var (2 / pi) asin(2 K_l(x, x') / sqrt((1 + 2 K_l(x, x)) (1 + 2 K_l(x', x'))))
//           (Williams 1997); the kernel is K_{L+1}.
//   Monte Carlo (eq. 19): (1/S) sum_s g(x, theta_s) g(x', theta_s) over S networks of finite width, drawn once
//     from the seed (a fixed kernel). For one hidden layer its expectation is the analytic kernel at any width;
//     deeper, it approaches it as the width grows.
// CNN (the paper's CNN-GP kernel, §4.2.1): Conv(k x k, SAME)-ReLU-MaxPool2-Conv(k x k, VALID)-ReLU-MaxPool2-
//   Linear-ReLU-Linear with `width` channels and `hidden` linear units, weights N(0, weight_var / fan_in), biases
//   N(0, bias_var), k = 5 (the paper's text; its code uses 3). Max-pooling has no closed-form kernel, so only the
//   Monte Carlo estimate exists.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rkhs/kernels/kernel.h"

namespace rkhs::spectral {

// A kernel estimated by Monte Carlo over S random networks (eq. 19): K(x, y) = (1/S) sum_s g(x, theta_s)
// g(y, theta_s) = Phi(x) Phi(y)^T / S with Phi(x) = [g(x, theta_1) .. g(x, theta_S)].
class MonteCarloKernel : public kernels::Kernel {
 public:
  // (n, ...) inputs -> (n, S) network outputs (float32, or float64 for the NTK), no gradient, in blocks of rows.
  virtual at::Tensor features(const at::Tensor& x) const = 0;
  virtual int64_t samples() const = 0;
  // (n, ...) x (m, ...) -> (n, m), no gradient (the kernel is an estimate), in the inputs' dtype.
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  bool is_positive_definite() const override { return true; }
  // features(x) for all of x's rows, each process computing its share of them (docs/DISTRIBUTED.md) and every one
  // gathering the rest; features(x) itself in a world of one.
  at::Tensor features_by_blocks(const at::Tensor& x) const;

 protected:
  // The networks' weights are drawn once on the CPU (the same numbers on every device); features() uses this
  // copy of them on x's device, made on the first call for that device and kept.
  const std::vector<at::Tensor>& weights_on(const at::Tensor& x) const;
  std::vector<at::Tensor> weights_;  // set by the subclass's constructor, on the CPU

 private:
  mutable std::vector<at::Tensor> device_weights_;
};

struct NNGPOptions {
  int64_t input_dim = 1;
  int64_t depth = 2;          // hidden layers L
  std::string activation = "relu";  // | "erf"
  double weight_var = 2.0;
  double bias_var = 1.0;
  int64_t width = 16;         // Monte Carlo only
  int64_t samples = 10000;    // S, Monte Carlo only
  uint64_t seed = 0;          // Monte Carlo only
};

// The infinite-width MLP kernel (ReLU or erf).
class NNGPAnalyticKernel : public kernels::Kernel {
 public:
  explicit NNGPAnalyticKernel(NNGPOptions options);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }

 private:
  NNGPOptions o_;
};

// The MLP kernel by Monte Carlo: inputs (n, input_dim).
class NNGPMonteCarloKernel : public MonteCarloKernel {
 public:
  explicit NNGPMonteCarloKernel(NNGPOptions options);
  at::Tensor features(const at::Tensor& x) const override;
  int64_t samples() const override { return o_.samples; }
  std::string name() const override;

 private:
  NNGPOptions o_;
  // weights_: layer l's (S, in, out) then (S, 1, out) bias, for l = 0..depth.
};

struct CNNGPOptions {
  int64_t channels = 1, height = 28, width_px = 28;  // input images (C, H, W); inputs may be flattened (n, C*H*W)
  int64_t conv = 5;            // convolution size k
  int64_t width = 16;          // channels of both convolutions
  int64_t hidden = 16;         // units of the hidden linear layer
  double weight_var = 2.0;
  double bias_var = 0.01;
  int64_t samples = 2000;      // S
  uint64_t seed = 0;
};

// The CNN-GP kernel by Monte Carlo; the networks are evaluated in groups with grouped convolutions.
class CNNGPMonteCarloKernel : public MonteCarloKernel {
 public:
  explicit CNNGPMonteCarloKernel(CNNGPOptions options);
  at::Tensor features(const at::Tensor& x) const override;
  int64_t samples() const override { return o_.samples; }
  std::string name() const override;
  // Network s's parameters in PyTorch's layouts: conv1 (width, C, k, k), (width); conv2 (width, width, k, k),
  // (width); linear1 (hidden, F), (hidden); linear2 (1, hidden), (1) with F = width * h2 * w2 (flattened C, H, W).
  std::vector<at::Tensor> network(int64_t s) const;

 private:
  CNNGPOptions o_;
  int64_t flat_ = 0;  // F
  // weights_: w1 (S * width, C, k, k), b1 (S * width), w2 (S * width, width, k, k), b2 (S * width),
  //           w3 (S, F, hidden), b3 (S, 1, hidden), w4 (S, hidden, 1), b4 (S, 1, 1).
};

}  // namespace rkhs::spectral
