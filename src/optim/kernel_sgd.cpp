#include "rkhs/optim/kernel_sgd.h"

#include <torch/torch.h>

#include <algorithm>

#include "rkhs/error.h"

namespace rkhs::optim {

KernelSgdMode parse_kernel_sgd_mode(const std::string& name) {
  if (name == "faithful") return KernelSgdMode::faithful;
  if (name == "corrected") return KernelSgdMode::corrected;
  throw Error("unknown Kernel SGD mode '" + name + "' (expected faithful or corrected)");
}

std::string to_string(KernelSgdMode mode) { return mode == KernelSgdMode::faithful ? "faithful" : "corrected"; }

at::Tensor precondition_gradient(const at::Tensor& grad, const at::Tensor& inverse, KernelSgdMode mode) {
  RKHS_CHECK(grad.dim() >= 2, "Kernel SGD: the preconditioned parameter must be a matrix, got " +
                                  std::to_string(grad.dim()) + " dimensions");
  RKHS_CHECK(inverse.dim() == 2 && inverse.size(0) == inverse.size(1),
             "Kernel SGD: the inverse kernel matrix must be square");
  const int64_t m = inverse.size(0);
  auto g = grad.reshape({grad.size(0), -1});
  const int64_t d_in = g.size(1);
  const auto inv = inverse.to(g.scalar_type());
  at::Tensor out;
  if (m >= d_in) {
    // m > d_in: the last m - d_in rows and columns of H^-1 are removed (paper §3.1 ii).
    out = torch::mm(g, m == d_in ? inv : inv.slice(0, 0, d_in).slice(1, 0, d_in));
  } else {
    // m < d_in: H^-1 is padded to d_in x d_in (paper §3.1 i); with zeros (faithful) the columns >= m of the
    // product vanish, with the identity (corrected) they keep the plain gradient.
    auto covered = torch::mm(g.slice(1, 0, m), inv);
    auto rest = g.slice(1, m, d_in);
    out = torch::cat({covered, mode == KernelSgdMode::faithful ? torch::zeros_like(rest) : rest}, 1);
  }
  return out.reshape(grad.sizes());
}

KernelSGD::KernelSGD(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults,
                     std::vector<at::Tensor> preconditioned, KernelSgdMode mode, double momentum)
    : OptimizerBase(std::move(groups), defaults), mode_(mode), momentum_(momentum) {
  RKHS_CHECK(momentum >= 0 && momentum < 1, "Kernel SGD: momentum must be in [0, 1), got " + std::to_string(momentum));
  const auto params = all_params();
  for (const auto& p : preconditioned) {
    RKHS_CHECK(p.dim() >= 2, "Kernel SGD: a preconditioned parameter must be a matrix (dim >= 2)");
    const bool found = std::any_of(params.begin(), params.end(), [&](const at::Tensor& q) { return q.is_same(p); });
    RKHS_CHECK(found, "Kernel SGD: a preconditioned parameter is not among the optimised parameters");
    preconditioned_.push_back(p.unsafeGetTensorImpl());
  }
  if (!preconditioned.empty()) dtype_ = preconditioned.front().scalar_type();
}

void KernelSGD::attach(std::shared_ptr<KernelPreconditioner> preconditioner, bool fixed_batches) {
  preconditioner_ = std::move(preconditioner);
  fixed_batches_ = fixed_batches;
}

void KernelSGD::prepare(const at::Tensor& inputs, int64_t batch_id) {
  if (!preconditioner_) return;
  set_inverse(preconditioner_->has_cache() ? preconditioner_->cached(batch_id)
                                           : preconditioner_->inverse(inputs, batch_id).to(dtype_));
}

void KernelSGD::prepare_partition(const at::Tensor& x, const std::vector<std::vector<int64_t>>& batches,
                                  c10::Device device) {
  if (preconditioner_ && fixed_batches_) preconditioner_->precompute(x, batches, dtype_, device);
}

std::optional<OptimizerBase::PreconditionerReport> KernelSGD::preconditioner_report() const {
  if (!preconditioner_) return std::nullopt;
  PreconditionerReport r;
  r.bytes = preconditioner_->bytes();
  r.seconds = preconditioner_->seconds();
  r.inverses = preconditioner_->inverses_computed();
  r.pseudo_inverses = preconditioner_->pseudo_inverses();
  return r;
}

torch::Tensor KernelSGD::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure) {
    at::AutoGradMode enable(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const GroupOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto d = decayed_grad(p, o);
      const bool kernel = std::find(preconditioned_.begin(), preconditioned_.end(), p.unsafeGetTensorImpl()) !=
                          preconditioned_.end();
      if (kernel) {
        RKHS_CHECK(inverse_.defined(), "Kernel SGD: step() without an inverse kernel matrix (call set_inverse first)");
        d = precondition_gradient(d, inverse_, mode_);
      }
      if (momentum_ > 0) {
        auto& buf = buffer(p, "momentum");
        buf.mul_(momentum_).add_(d);
        d = buf;
      }
      p.add_(d, -o.lr());
    }
  }
  ++step_;
  return loss;
}

}  // namespace rkhs::optim
