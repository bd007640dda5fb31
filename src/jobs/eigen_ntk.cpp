#include "eigen_ntk.h"

#include <torch/torch.h>

#include <chrono>

#include "rkhs/error.h"
#include "rkhs/nn/backbones.h"
#include "rkhs/train/progress.h"

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
  NTKClassifier r;
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(r.weight_decay));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = x.size(0), batch = 128, steps = epochs * ((n + batch - 1) / batch);
  train::Progress bar("NTK classifier", steps, progress);
  const auto start = std::chrono::steady_clock::now();
  auto xf = x.to(torch::kFloat32), yf = y.to(torch::kFloat32);
  int64_t step = 0;
  for (int64_t e = 0; e < epochs; ++e) {
    auto perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong));
    for (int64_t i = 0; i < n; i += batch) {
      auto idx = perm.slice(0, i, std::min(n, i + batch));
      auto loss = torch::binary_cross_entropy_with_logits(net->forward(xf.index({idx})), yf.index({idx}));
      opt.zero_grad();
      loss.backward();
      opt.step();
      bar.update(++step);
    }
  }
  bar.finish();
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

}  // namespace rkhs::jobs
