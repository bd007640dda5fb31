#include "rkhs/train/optimizer.h"

#include <torch/torch.h>

#include <map>

#include "rkhs/error.h"
#include "rkhs/optim/curvature.h"
#include "rkhs/optim/kernel_sgd.h"

namespace rkhs::train {

std::vector<std::string> optimizer_names() {
  return {"sgd", "momentum", "adam", "adamw", "lbfgs", "esgd", "adahessian", "kernel-sgd"};
}

namespace {
bool is_rkhs_optimizer(const std::string& name) { return name == "esgd" || name == "adahessian" || name == "kernel-sgd"; }
}  // namespace

std::vector<std::pair<std::string, double>> parameter_weight_decays(const classify::ClassifierImpl& model,
                                                                    const TrainOptions& options) {
  auto params = model.named_parameters(/*recurse=*/true);
  std::map<std::string, double> overrides;
  for (const auto& [name, wd] : model.weight_decay_overrides()) {
    RKHS_CHECK(params.find(name) != nullptr,
               "weight-decay override names parameter '" + name + "', which the model does not have");
    RKHS_CHECK(wd >= 0 && std::isfinite(wd), "weight-decay override for '" + name + "' must be finite and >= 0");
    overrides[name] = wd;
  }
  std::vector<std::pair<std::string, double>> out;
  for (const auto& item : params) {
    if (!item.value().requires_grad()) continue;
    auto it = overrides.find(item.key());
    out.emplace_back(item.key(), it == overrides.end() ? options.weight_decay : it->second);
  }
  return out;
}

namespace {

// Options of one group with weight decay `wd` for the named optimizer (lr is set per iteration later).
std::unique_ptr<torch::optim::OptimizerOptions> group_options(const TrainOptions& o, double wd) {
  if (o.optimizer == "sgd") return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(o.lr).weight_decay(wd));
  if (o.optimizer == "momentum")
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(false).weight_decay(wd));
  if (o.optimizer == "adam") return std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(o.lr).weight_decay(wd));
  if (o.optimizer == "adamw") return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o.lr).weight_decay(wd));
  if (is_rkhs_optimizer(o.optimizer)) return std::make_unique<optim::GroupOptions>(o.lr, wd);
  throw Error("unknown optimizer '" + o.optimizer +
              "' (expected sgd, momentum, adam, adamw, lbfgs, esgd, adahessian or kernel-sgd)");
}

}  // namespace

std::vector<at::Tensor> kernel_sgd_parameters(const classify::ClassifierImpl& model, bool all_layers) {
  std::vector<at::Tensor> out;
  if (all_layers) {
    for (const auto& item : model.named_parameters(true)) {
      const auto& name = item.key();
      const bool weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
      if (weight && item.value().dim() >= 2 && item.value().requires_grad()) out.push_back(item.value());
    }
  } else {
    auto head = model.head->named_parameters(/*recurse=*/false);
    const auto* w = head.find("weight");
    RKHS_CHECK(w != nullptr && w->dim() == 2,
               "Kernel SGD preconditions the last fully connected layer, but the head '" + model.head->describe() +
                   "' has no weight matrix named 'weight'");
    out.push_back(*w);
  }
  RKHS_CHECK(!out.empty(), "Kernel SGD: the model has no weight matrix to precondition");
  return out;
}

int64_t optimizer_state_bytes(const torch::optim::Optimizer& opt) {
  if (const auto* own = dynamic_cast<const optim::OptimizerBase*>(&opt)) return own->state_bytes();
  auto bytes = [](const at::Tensor& t) { return t.defined() ? static_cast<int64_t>(t.numel() * t.element_size()) : 0; };
  int64_t total = 0;
  for (const auto& [key, state] : opt.state()) {
    if (const auto* s = dynamic_cast<const torch::optim::SGDParamState*>(state.get())) {
      total += bytes(s->momentum_buffer());
    } else if (const auto* a = dynamic_cast<const torch::optim::AdamParamState*>(state.get())) {
      total += bytes(a->exp_avg()) + bytes(a->exp_avg_sq()) + bytes(a->max_exp_avg_sq());
    } else if (const auto* aw = dynamic_cast<const torch::optim::AdamWParamState*>(state.get())) {
      total += bytes(aw->exp_avg()) + bytes(aw->exp_avg_sq()) + bytes(aw->max_exp_avg_sq());
    } else if (const auto* l = dynamic_cast<const torch::optim::LBFGSParamState*>(state.get())) {
      total += bytes(l->d()) + bytes(l->prev_flat_grad()) + bytes(l->H_diag());
      for (const auto& t : l->old_dirs()) total += bytes(t);
      for (const auto& t : l->old_stps()) total += bytes(t);
      for (const auto& t : l->ro()) total += bytes(t);
      if (l->al()) for (const auto& t : *l->al()) total += bytes(t);
    }
  }
  return total;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(classify::ClassifierImpl& model, const TrainOptions& o) {
  RKHS_CHECK(o.lr > 0 && std::isfinite(o.lr), "learning rate must be positive and finite, got " + std::to_string(o.lr));
  RKHS_CHECK(o.weight_decay >= 0, "weight decay must be >= 0, got " + std::to_string(o.weight_decay));
  if (o.optimizer != "lbfgs") group_options(o, o.weight_decay);  // throws for an unknown optimizer name
  const auto decays = parameter_weight_decays(model, o);
  auto params = model.named_parameters(true);
  if (o.optimizer == "lbfgs") {
    RKHS_CHECK(!decays.empty(), "the model has no trainable parameters");
    RKHS_CHECK(o.lbfgs_history > 0, "lbfgs_history must be positive");
    RKHS_CHECK(o.lbfgs_max_iter > 0, "lbfgs_max_iter must be positive");
    std::vector<torch::Tensor> all;
    for (const auto& [name, wd] : decays) all.push_back(params[name]);
    auto lo = torch::optim::LBFGSOptions(o.lr)
                  .history_size(o.lbfgs_history)
                  .max_iter(o.lbfgs_max_iter)
                  .line_search_fn("strong_wolfe");
    return std::make_unique<torch::optim::LBFGS>(all, lo);
  }
  if (o.optimizer == "momentum")
    RKHS_CHECK(o.momentum >= 0 && o.momentum < 1, "momentum must be in [0, 1), got " + std::to_string(o.momentum));
  // Group 0: the global weight decay (always present, possibly empty), then one group per distinct override.
  std::vector<double> wds = {o.weight_decay};
  std::vector<std::vector<torch::Tensor>> members(1);
  for (const auto& [name, wd] : decays) {
    size_t g = 0;
    while (g < wds.size() && wds[g] != wd) ++g;
    if (g == wds.size()) {
      wds.push_back(wd);
      members.emplace_back();
    }
    members[g].push_back(params[name]);
  }
  RKHS_CHECK(!decays.empty(), "the model has no trainable parameters");
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g < wds.size(); ++g)
    if (!members[g].empty()) groups.emplace_back(members[g], group_options(o, wds[g]));
  auto defaults = group_options(o, o.weight_decay);
  if (o.optimizer == "sgd" || o.optimizer == "momentum")
    return std::make_unique<torch::optim::SGD>(groups, static_cast<torch::optim::SGDOptions&>(*defaults));
  if (o.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(groups, static_cast<torch::optim::AdamOptions&>(*defaults));
  const auto& gd = static_cast<optim::GroupOptions&>(*defaults);
  if (o.optimizer == "esgd") return std::make_unique<optim::ESGD>(groups, gd, o.esgd_update_every, o.esgd_damping);
  if (o.optimizer == "adahessian")
    return std::make_unique<optim::AdaHessian>(groups, gd, o.adahessian_beta1, o.adahessian_beta2, o.adahessian_eps,
                                               o.adahessian_power);
  if (o.optimizer == "kernel-sgd") {
    auto opt = std::make_unique<optim::KernelSGD>(groups, gd, kernel_sgd_parameters(model, o.kernel_sgd.all_layers),
                                                  optim::parse_kernel_sgd_mode(o.kernel_sgd.mode), o.kernel_sgd.momentum);
    const optim::PreconditionerOptions po{o.kernel_sgd.kernel, o.kernel_sgd.damping, o.seed};
    auto shared = o.kernel_sgd.shared;
    if (shared != nullptr)
      RKHS_CHECK(shared->options().kernel == po.kernel && shared->options().damping == po.damping &&
                     shared->options().seed == po.seed,
                 "Kernel SGD: the shared preconditioner was made with other options");
    opt->attach(shared != nullptr ? shared : std::make_shared<optim::KernelPreconditioner>(po), o.kernel_sgd.fixed_batches);
    return opt;
  }
  return std::make_unique<torch::optim::AdamW>(groups, static_cast<torch::optim::AdamWOptions&>(*defaults));
}

}  // namespace rkhs::train
