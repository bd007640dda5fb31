#pragma once
// Adam for small networks on the CPU whose step is dominated by per-operation overhead (NeuralEF's k networks of
// the paper's 1-D problem: ~12,000 parameters in 6 tensors). torch::optim::Adam's update without weight decay or
// AMSGrad,
//   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,  p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
// as one loop over each float parameter instead of ~8 ATen operations per parameter (tests/core/test_cpu_adam.cpp
// compares the trajectories).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace rkhs::core {

class CpuAdam {
 public:
  // Every parameter must be a contiguous float tensor on the CPU (else one-line error); their .grad is read by step().
  explicit CpuAdam(std::vector<at::Tensor> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999,
                   double eps = 1e-8);
  // Whether CpuAdam can hold these parameters (contiguous float tensors on the CPU).
  static bool supports(const std::vector<at::Tensor>& parameters);
  void set_lr(double lr) { lr_ = lr; }
  // One update of every parameter with a defined gradient (in place, without autograd).
  void step();

 private:
  std::vector<at::Tensor> params_;
  std::vector<std::vector<float>> m_, v_;
  double lr_, beta1_, beta2_, eps_;
  int64_t t_ = 0;
};

}  // namespace rkhs::core
