#pragma once
// Diagonal-curvature baselines of paper 001, both using Hessian-vector products by double backprop (the caller
// runs loss.backward with create_graph=true whenever needs_graph() is true; see OptimizerBase).
#include "rkhs/optim/optimizer_base.h"

namespace rkhs::optim {

// Equilibrated SGD (Dauphin, de Vries & Bengio 2015, Algorithm 1): every `update_every` steps (starting with
// the first) D += (H v)^2 with v ~ N(0, I), i = number of such updates; every step
//   theta <- theta - lr * g / (sqrt(D / i) + damping),
// g the gradient plus L2 weight decay. Buffers: D (one per parameter).
class ESGD : public OptimizerBase {
 public:
  ESGD(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults, int64_t update_every = 20,
       double damping = 1e-4);
  torch::Tensor step(LossClosure closure = nullptr) override;
  std::string kind() const override { return "ESGD"; }
  bool needs_graph() const override { return step_ % update_every_ == 0; }

 private:
  int64_t update_every_;
  double damping_;
};

// AdaHessian (Yao et al. 2021): Hutchinson's diagonal estimate D = |z * (H z)| with Rademacher z, averaged
// over the spatial dimensions of 4-D convolution kernels ("spatial averaging"), then Adam-like moments
//   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) D^2,
//   theta <- theta - lr * ( (m / (1 - b1^t)) / ((sqrt(v) / sqrt(1 - b2^t))^k + eps) + weight_decay * theta ),
// k the Hessian power (decoupled weight decay, as the authors' implementation). A Hessian estimate every step.
class AdaHessian : public OptimizerBase {
 public:
  AdaHessian(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults, double beta1 = 0.9,
             double beta2 = 0.999, double eps = 1e-4, double hessian_power = 1);
  torch::Tensor step(LossClosure closure = nullptr) override;
  std::string kind() const override { return "AdaHessian"; }
  bool needs_graph() const override { return true; }

 private:
  double beta1_, beta2_, eps_, power_;
};

}  // namespace rkhs::optim
