#pragma once
// Kernel SGD (paper 001, Algorithm 1): the last fully connected layer is updated with
//   W <- W - lr * dJ/dW * H^-1                                                     (paper eq. 5)
// where dJ/dW is (d_out, d_in) and H^-1 is the inverse of the m x m kernel matrix of the mini-batch inputs,
// reshaped to d_in x d_in; every other parameter gets the plain SGD (or momentum) step.
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/optim/optimizer_base.h"

#include <memory>

#include <string>
#include <vector>

namespace rkhs::optim {

// How the m x m inverse meets a gradient with d_in columns (paper §3.1):
//   faithful  -- as the paper: m < d_in pads H^-1 with zeros, so gradient columns >= m become zero and those
//                weights never move; m > d_in keeps the top-left d_in x d_in block.
//   corrected -- ours: m < d_in pads with the identity, so columns >= m get the plain SGD step; m > d_in as
//                faithful. (Damping H + lambda I is a property of the inverse, see KernelPreconditioner.)
enum class KernelSgdMode { faithful, corrected };

KernelSgdMode parse_kernel_sgd_mode(const std::string& name);  // "faithful" | "corrected"; throws rkhs::Error
std::string to_string(KernelSgdMode mode);

// The preconditioned gradient G H^-1 of eq. 5 with the reshaping of `mode`: grad (d_out, d_in, ...) is viewed
// as (d_out, fan_in) with fan_in = numel / d_out; inverse is (m, m). Returns a tensor shaped like grad.
at::Tensor precondition_gradient(const at::Tensor& grad, const at::Tensor& inverse, KernelSgdMode mode);

class KernelSGD : public OptimizerBase {
 public:
  // `preconditioned`: the parameters that get eq. 5 (the last layer's weight, or all weight matrices for the
  // paper's all-layers ablation); each must be in `groups`. momentum in [0, 1) applies to every parameter
  // (buffer <- momentum * buffer + step direction, as torch SGD with dampening 0).
  KernelSGD(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults,
            std::vector<at::Tensor> preconditioned, KernelSgdMode mode, double momentum = 0);

  // The (m, m) inverse kernel matrix of the current mini-batch, used by the next step(). Must be set before a
  // step when there are preconditioned parameters (by hand, or by prepare() with an attached preconditioner).
  void set_inverse(at::Tensor inverse) { inverse_ = std::move(inverse); }

  // The preconditioner whose inverses prepare() sets, and whether the run uses one fixed batch partition (the
  // paper: all inverses computed once by prepare_partition) or fresh batches with one inverse per step.
  void attach(std::shared_ptr<KernelPreconditioner> preconditioner, bool fixed_batches);
  void prepare(const at::Tensor& inputs, int64_t batch_id) override;
  bool fixed_batches() const override { return fixed_batches_; }
  void prepare_partition(const at::Tensor& x, const std::vector<std::vector<int64_t>>& batches,
                         c10::Device device) override;
  std::optional<PreconditionerReport> preconditioner_report() const override;

  torch::Tensor step(LossClosure closure = nullptr) override;
  std::string kind() const override { return "KernelSGD"; }
  KernelSgdMode mode() const { return mode_; }

 private:
  std::vector<const void*> preconditioned_;
  KernelSgdMode mode_;
  double momentum_;
  at::Tensor inverse_;
  c10::ScalarType dtype_ = c10::kFloat;  // of the preconditioned parameters: the inverses are cast to it
  std::shared_ptr<KernelPreconditioner> preconditioner_;
  bool fixed_batches_ = false;
};

}  // namespace rkhs::optim
