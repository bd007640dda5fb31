#include "eigen_ntk.h"

#include <torch/torch.h>

#include <chrono>

#include "rkhs/error.h"
#include "rkhs/nn/backbones.h"
#include "rkhs/spectral/laplace.h"
#include "rkhs/core/device.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/loss_meter.h"

namespace rkhs::jobs {
namespace {

struct LogitNetImpl : torch::nn::Module {
  LogitNetImpl()
      : body(register_module("body", std::make_shared<nn::LeNet5BackboneImpl>(std::vector<int64_t>{1, 28, 28}, true))),
        head(register_module("head", torch::nn::Linear(84, 1))) {}
  at::Tensor forward(const at::Tensor& x) { return head(body->forward(x.reshape({-1, 1, 28, 28}))).squeeze(1); }
  std::shared_ptr<nn::LeNet5BackboneImpl> body;
  torch::nn::Linear head;
};
TORCH_MODULE(LogitNet);

}  // namespace

NTKClassifier train_ntk_classifier(const at::Tensor& x, const at::Tensor& y, const at::Tensor& test_x,
                                   const at::Tensor& test_y, int64_t epochs, const spectral::NTKOptions& options,
                                   uint64_t seed, bool progress) {
  RKHS_CHECK(epochs >= 1, "--ntk-epochs must be >= 1");
  torch::manual_seed(seed);
  LogitNet net;
  net->to(x.device());
  NTKClassifier r;
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(r.weight_decay));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = x.size(0), batch = 128, steps = epochs * ((n + batch - 1) / batch);
  auto xf = x.to(torch::kFloat32), yf = y.to(torch::kFloat32);
  at::Tensor perm, pending;
  core::LoopOptions lo;
  lo.label = "NTK classifier";
  lo.who = "NTK classifier";
  lo.epochs = epochs;
  lo.steps = steps / epochs;
  lo.progress = progress;
  core::LoopHooks hooks;
  core::LossMeter meter;
  lo.report_every = core::report_interval(x.device());
  hooks.begin_pass = [&](int64_t) {
    meter.clear();
    perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).to(x.device());
  };
  hooks.step = [&](const core::Step& s) {
    auto idx = perm.slice(0, s.index * batch, std::min(n, (s.index + 1) * batch));
    auto loss = torch::binary_cross_entropy_with_logits(net->forward(xf.index({idx})), yf.index({idx}));
    pending = loss;
    meter.add(loss, double(idx.size(0)));
    return meter.finish(s);
  };
  hooks.update = [&](const core::Step&) {
    opt.zero_grad();
    pending.backward();
    opt.step();
  };
  r.train_seconds = core::run_loop(lo, hooks).seconds;
  net->eval();
  net->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    auto pred = (net->forward(test_x.to(torch::kFloat64)) > 0).to(torch::kLong);
    r.test_accuracy = pred.eq(test_y).to(torch::kFloat64).mean().item<double>();
  }
  auto params = net->parameters();
  for (const auto& p : params) r.parameters += p.numel();
  r.logits = [net](const at::Tensor& b) mutable {
    torch::NoGradGuard g;
    return net->forward(b.to(torch::kFloat64));
  };
  r.last_layer = [net](const at::Tensor& b) mutable {
    torch::NoGradGuard g;
    auto h = net->body->forward(b.to(torch::kFloat64).reshape({-1, 1, 28, 28}));
    return torch::cat({h, torch::ones({h.size(0), 1}, h.options())}, 1);
  };
  r.kernel = std::make_shared<spectral::NTKKernel>([net](const at::Tensor& b) mutable { return net->forward(b); },
                                                   params, options);
  return r;
}

at::Tensor in_blocks(const at::Tensor& x, const FeatureMap& f) {
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += 4096) parts.push_back(f(x.slice(0, i, std::min(x.size(0), i + 4096))));
  return torch::cat(parts);
}

std::vector<LaplaceResult> compare_laplace(const NTKClassifier& clf, const FeatureMap& eigen_features,
                                           const at::Tensor& train_x, const at::Tensor& test_x,
                                           const at::Tensor& test_y, const at::Tensor& ood_x, uint64_t seed,
                                           double* prior_variance) {
  const double prior = 1.0 / (double(train_x.size(0)) * clf.weight_decay);  // sigma0^2 = 1 / (N * weight decay)
  if (prior_variance) *prior_variance = prior;
  const auto train_logits = in_blocks(train_x, clf.logits);
  const auto id_logits = in_blocks(test_x, clf.logits), ood_logits = in_blocks(ood_x, clf.logits);
  std::vector<LaplaceResult> out;
  auto evaluate = [&](const std::string& name, const FeatureMap& features) {
    at::Tensor v_id = torch::zeros_like(id_logits), v_ood = torch::zeros_like(ood_logits);
    if (features) {
      const auto la = spectral::fit_binary_laplace(in_blocks(train_x, features), train_logits, prior);
      v_id = la.variance(in_blocks(test_x, features));
      v_ood = la.variance(in_blocks(ood_x, features));
    }
    auto p_id = spectral::laplace_predictive(id_logits, v_id, 256, seed);  // the paper's 256 draws
    auto p_ood = spectral::laplace_predictive(ood_logits, v_ood, 256, seed + 1);
    LaplaceResult l;
    l.name = name;
    l.accuracy = (p_id > 0.5).to(torch::kLong).eq(test_y).to(torch::kFloat64).mean().item<double>();
    l.nll = spectral::binary_nll(p_id, test_y);
    l.ece = spectral::binary_ece(p_id, test_y);
    l.entropies_in = spectral::binary_entropy(p_id);
    l.entropies_out = spectral::binary_entropy(p_ood);
    l.entropy_in = l.entropies_in.mean().item<double>();
    l.entropy_out = l.entropies_out.mean().item<double>();
    l.ood_auroc = spectral::auroc(l.entropies_in, l.entropies_out);
    l.mean_variance_in = v_id.mean().item<double>();
    out.push_back(l);
  };
  evaluate("map", nullptr);
  evaluate("last-layer", clf.last_layer);
  evaluate("neuralef", eigen_features);
  return out;
}

}  // namespace rkhs::jobs
