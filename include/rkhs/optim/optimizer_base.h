#pragma once
// The common base of rkhs's own optimizers (Kernel SGD, ESGD, AdaHessian): per-group learning rate and weight
// decay, named per-parameter buffers, a step counter, and save/load of all of them (for checkpoints).
#include <torch/optim/optimizer.h>

#include "rkhs/core/checkpoint.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rkhs::optim {

// Options of one parameter group. Everything that is not per group (momentum, betas, ...) is a constructor
// argument of the optimizer itself.
struct GroupOptions : public torch::optim::OptimizerCloneableOptions<GroupOptions> {
  explicit GroupOptions(double lr = 0.01, double weight_decay = 0) : lr_(lr), weight_decay_(weight_decay) {}
  TORCH_ARG(double, lr);
  TORCH_ARG(double, weight_decay);
  double get_lr() const override { return lr_; }
  void set_lr(const double lr) override { lr_ = lr; }
};

class OptimizerBase : public torch::optim::Optimizer, public core::NamedOptimizer {
 public:
  OptimizerBase(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults);

  // A stable name of the algorithm, stored in checkpoints ("KernelSGD", "ESGD", "AdaHessian").
  std::string kind() const override = 0;
  // True when the next step() needs the gradients with their graph, i.e. the caller must run
  // backward(loss) below, or loss.backward({}, {}, /*create_graph=*/true), before it. With several processes
  // (docs/DISTRIBUTED.md) such a step sums the gradients over the ranks itself, after its Hessian-vector
  // products; the caller sums them before every other step.
  virtual bool needs_graph() const { return false; }
  // Computes the gradients of `loss` into every parameter's .grad(): loss.backward(), or, when needs_graph(),
  // torch::autograd::grad with create_graph=true (keeping the graph without the reference-cycle warning of
  // backward(create_graph=true); step() detaches the gradients after its Hessian-vector products). Gradients
  // accumulate into existing ones like backward() does.
  void backward(const at::Tensor& loss);
  // Bytes held by the per-parameter buffers (momentum, curvature estimates, ...).
  virtual int64_t state_bytes() const;

  // Per-batch needs, called by the training loop for every mini-batch before backward(loss): the batch's inputs
  // (m, ...) on the training device and its id (its index in a fixed partition, else its index in the epoch).
  // Kernel SGD computes or looks up the batch's inverse kernel matrix here. Default: nothing.
  virtual void prepare(const at::Tensor& inputs, int64_t batch_id) {}
  // Whether the optimizer wants one fixed partition of the training set into batches for the whole run (Kernel
  // SGD as in the paper); the loop then calls prepare_partition once with it (batches[b]: the sample indices of
  // batch b in x) before the first step, and passes b as prepare's batch_id.
  virtual bool fixed_batches() const { return false; }
  virtual void prepare_partition(const at::Tensor& x, const std::vector<std::vector<int64_t>>& batches,
                                 c10::Device device) {}
  // What a preconditioning optimizer stored and spent (Kernel SGD: its inverse kernel matrices).
  struct PreconditionerReport {
    int64_t bytes = 0;       // stored inverses
    double seconds = 0;      // spent building and inverting kernel matrices
    int64_t inverses = 0;    // computed
    int64_t pseudo_inverses = 0;
  };
  virtual std::optional<PreconditionerReport> preconditioner_report() const { return std::nullopt; }
  // Steps taken so far.
  int64_t steps() const { return step_; }

  void save(torch::serialize::OutputArchive& archive) const override;
  // Throws rkhs::Error when the archive was written by another optimizer kind or for other parameter shapes.
  void load(torch::serialize::InputArchive& archive) override;

 protected:
  // All parameters of all groups, in group order (the order save() and load() use).
  std::vector<at::Tensor> all_params() const;
  // The gradient of p plus the group's weight decay times p, detached (L2 weight decay as in torch SGD).
  static at::Tensor decayed_grad(const at::Tensor& p, const GroupOptions& group);
  // Buffer `name` of parameter p: zeros like p (or of `shape` when given) on first use.
  at::Tensor& buffer(const at::Tensor& p, const std::string& name, at::IntArrayRef shape = {});
  bool has_buffer(const at::Tensor& p, const std::string& name) const;

  int64_t step_ = 0;

 private:
  std::map<const void*, std::map<std::string, at::Tensor>> buffers_;  // by TensorImpl*
};

// Hessian-vector products by double backprop: given parameters whose .grad() still carries its graph (after
// loss.backward with create_graph=true), returns H v for the blocks v (one per parameter, same shapes), where
// H is the Hessian of the loss with respect to all of `params`. Parameters whose gradient has no graph give
// zero rows. Frees the graph; afterwards every .grad() is detached (so no reference cycle stays behind).
std::vector<at::Tensor> hessian_vector_product(const std::vector<at::Tensor>& params,
                                               const std::vector<at::Tensor>& v);

}  // namespace rkhs::optim
