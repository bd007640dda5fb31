#include "rkhs/train/optimizer.h"

#include <torch/torch.h>

#include <map>

#include "rkhs/error.h"

namespace rkhs::train {

std::vector<std::string> optimizer_names() { return {"sgd", "momentum", "adam", "adamw", "lbfgs"}; }

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
  throw Error("unknown optimizer '" + o.optimizer + "' (expected sgd, momentum, adam, adamw or lbfgs)");
}

}  // namespace

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
  return std::make_unique<torch::optim::AdamW>(groups, static_cast<torch::optim::AdamWOptions&>(*defaults));
}

}  // namespace rkhs::train
