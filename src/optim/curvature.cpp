#include "rkhs/optim/curvature.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/core/dist.h"
#include "rkhs/error.h"

namespace rkhs::optim {

namespace {

// Parameters of all groups that have a gradient, in group order, with their group's options. With several
// processes, every parameter that trains, a missing gradient as zeros (a rank whose share of the batch is
// empty), so that every rank takes part in the same collectives.
std::vector<std::pair<at::Tensor, const GroupOptions*>> with_grad(std::vector<torch::optim::OptimizerParamGroup>& groups) {
  const bool all = core::DistWorld::get().active();
  std::vector<std::pair<at::Tensor, const GroupOptions*>> out;
  for (auto& g : groups)
    for (auto& p : g.params()) {
      if (all && p.requires_grad() && !p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      if (p.grad().defined()) out.emplace_back(p, &static_cast<const GroupOptions&>(g.options()));
    }
  return out;
}

// The Hessian-vector products H v of a data-parallel step (docs/DISTRIBUTED.md). Each rank's gradient (with its
// graph) is its share's part of the global batch's, so with rank 0's probe vectors v on every rank, the sum over
// the ranks of each rank's H_r v is the global batch's H v. The gradients are summed in the same collective: the
// training loop leaves a step that needs the graph to this, since summing a gradient that still carries its graph
// would break the double backprop. One process: hessian_vector_product alone.
std::vector<at::Tensor> summed_hessian_vector_product(const std::vector<at::Tensor>& ps, std::vector<at::Tensor> vs) {
  auto& dist = core::DistWorld::get();
  if (!dist.active()) return hessian_vector_product(ps, vs);
  dist.broadcast(vs, 0, "the Hessian probe vectors");
  auto hv = hessian_vector_product(ps, vs);  // leaves every gradient detached
  std::vector<at::Tensor> sums = hv;
  for (const auto& p : ps) sums.push_back(p.grad());
  dist.all_reduce_sum(sums, "the gradients and Hessian-vector products");
  return hv;
}

void check_graph(const std::vector<std::pair<at::Tensor, const GroupOptions*>>& params, const std::string& who) {
  bool any = false;
  for (const auto& [p, o] : params) any = any || p.grad().requires_grad();
  RKHS_CHECK(any, who + ": the gradients carry no graph; call loss.backward with create_graph=true before step() "
                        "when needs_graph() is true");
}

}  // namespace

ESGD::ESGD(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults, int64_t update_every,
           double damping)
    : OptimizerBase(std::move(groups), defaults), update_every_(update_every), damping_(damping) {
  RKHS_CHECK(update_every > 0, "ESGD: the curvature update interval must be positive");
  RKHS_CHECK(damping > 0 && std::isfinite(damping), "ESGD: damping must be positive and finite");
}

torch::Tensor ESGD::step(LossClosure closure) {
  at::Tensor loss;
  if (closure) loss = closure();
  auto params = with_grad(param_groups_);
  if (needs_graph() && !params.empty()) {
    check_graph(params, "ESGD");
    std::vector<at::Tensor> ps, vs;
    for (const auto& [p, o] : params) {
      ps.push_back(p);
      vs.push_back(torch::randn_like(p));
    }
    auto hv = summed_hessian_vector_product(ps, vs);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < ps.size(); ++i) buffer(ps[i], "D").addcmul_(hv[i], hv[i]);
  }
  torch::NoGradGuard no_grad;
  // Curvature updates so far, this step's included: steps 0, k, 2k, ... update D.
  const double count = static_cast<double>(step_ / update_every_ + 1);
  for (const auto& [p, o] : params) {
    auto g = decayed_grad(p, *o);
    auto denom = buffer(p, "D").div(count).sqrt_().add_(damping_);
    const_cast<at::Tensor&>(p).addcdiv_(g, denom, -o->lr());
  }
  ++step_;
  return loss;
}

AdaHessian::AdaHessian(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults, double beta1,
                       double beta2, double eps, double hessian_power)
    : OptimizerBase(std::move(groups), defaults), beta1_(beta1), beta2_(beta2), eps_(eps), power_(hessian_power) {
  RKHS_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "AdaHessian: betas must be in [0, 1)");
  RKHS_CHECK(eps > 0, "AdaHessian: eps must be positive");
  RKHS_CHECK(hessian_power > 0 && hessian_power <= 1, "AdaHessian: the Hessian power must be in (0, 1]");
}

torch::Tensor AdaHessian::step(LossClosure closure) {
  at::Tensor loss;
  if (closure) loss = closure();
  auto params = with_grad(param_groups_);
  if (params.empty()) return loss;
  check_graph(params, "AdaHessian");
  std::vector<at::Tensor> ps, zs;
  for (const auto& [p, o] : params) {
    ps.push_back(p);
    zs.push_back(torch::randint_like(p, 0, 2).mul_(2).sub_(1));  // Rademacher +-1
  }
  auto hz = summed_hessian_vector_product(ps, zs);
  torch::NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1 - std::pow(beta1_, static_cast<double>(step_));
  const double bc2 = 1 - std::pow(beta2_, static_cast<double>(step_));
  for (size_t i = 0; i < ps.size(); ++i) {
    auto& p = ps[i];
    const auto& o = *params[i].second;
    auto d = hz[i].abs();  // |z * Hz| = |Hz| since |z| = 1
    if (d.dim() == 4) d = d.mean({2, 3}, /*keepdim=*/true).expand_as(d);  // spatial averaging of conv kernels
    auto g = p.grad().detach();
    auto& m = buffer(p, "exp_avg");
    auto& v = buffer(p, "exp_hessian_diag_sq");
    m.mul_(beta1_).add_(g, 1 - beta1_);
    v.mul_(beta2_).addcmul_(d, d, 1 - beta2_);
    auto denom = v.sqrt().div(std::sqrt(bc2)).pow(power_).add_(eps_);
    auto update = m.div(bc1).div_(denom);
    if (o.weight_decay() != 0) update.add_(p.detach(), o.weight_decay());
    p.add_(update, -o.lr());
  }
  return loss;
}

}  // namespace rkhs::optim
