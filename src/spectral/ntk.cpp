#include "rkhs/spectral/ntk.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::spectral {
namespace {

at::Tensor outputs(const std::function<at::Tensor(const at::Tensor&)>& g, const at::Tensor& x, int64_t batch) {
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += batch) {
    auto out = g(x.slice(0, i, std::min(x.size(0), i + batch)));
    RKHS_CHECK(out.dim() == 1 || (out.dim() == 2 && out.size(1) == 1), "NTK: the network must give one output per example");
    parts.push_back(out.reshape({-1}));
  }
  return torch::cat(parts);
}

}  // namespace

at::Tensor ntk_features(const std::function<at::Tensor(const at::Tensor&)>& g, const std::vector<at::Tensor>& params,
                        const at::Tensor& x, const NTKOptions& o) {
  RKHS_CHECK(!params.empty(), "NTK: no parameters");
  RKHS_CHECK(x.dim() >= 2 && x.size(0) >= 1, "NTK: expected a batch of inputs");
  RKHS_CHECK(o.batch >= 1, "NTK: batch must be >= 1");
  const int64_t n = x.size(0);
  if (o.method == "jacobian") {
    torch::AutoGradMode enable(true);
    int64_t p = 0;
    for (const auto& t : params) p += t.numel();
    auto phi = torch::empty({n, p}, params[0].options().requires_grad(false));
    for (int64_t i = 0; i < n; ++i) {
      auto out = g(x.slice(0, i, i + 1)).sum();
      auto grads = torch::autograd::grad({out}, params, {}, false, false, true);
      int64_t at = 0;
      for (size_t l = 0; l < params.size(); ++l) {
        const int64_t m = params[l].numel();
        if (grads[l].defined()) phi[i].slice(0, at, at + m).copy_(grads[l].reshape({-1}));
        else phi[i].slice(0, at, at + m).zero_();  // a parameter g does not use
        at += m;
      }
    }
    return phi;
  }
  RKHS_CHECK(o.method == "finite-differences", "NTK: method must be finite-differences or jacobian, got '" + o.method + "'");
  RKHS_CHECK(o.samples >= 1 && o.epsilon > 0, "NTK: samples must be >= 1 and epsilon > 0");
  torch::NoGradGuard guard;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  std::vector<at::Tensor> saved;
  for (const auto& t : params) saved.push_back(t.detach().clone());
  const auto base = outputs(g, x, o.batch);
  auto phi = torch::empty({n, o.samples}, base.options());
  const double scale = 1.0 / (o.epsilon * std::sqrt(double(o.samples)));
  for (int64_t s = 0; s < o.samples; ++s) {
    for (size_t l = 0; l < params.size(); ++l) {
      // Drawn on the CPU from the seed (the same directions on every device), then moved.
      auto v = at::bernoulli(torch::full(params[l].sizes(), 0.5, saved[l].options().device(torch::kCPU)), gen)
                   .mul_(2).sub_(1).to(saved[l].device());
      params[l].detach().copy_(saved[l] + o.epsilon * v);
    }
    phi.select(1, s).copy_((outputs(g, x, o.batch) - base) * scale);
  }
  for (size_t l = 0; l < params.size(); ++l) params[l].detach().copy_(saved[l]);  // exactly the original values
  RKHS_CHECK(torch::isfinite(phi).all().item<bool>(), "NTK: the finite differences are not finite");
  return phi;
}

NTKKernel::NTKKernel(std::function<at::Tensor(const at::Tensor&)> g, std::vector<at::Tensor> parameters, NTKOptions options)
    : g_(std::move(g)), params_(std::move(parameters)), o_(std::move(options)) {
  RKHS_CHECK(g_ && !params_.empty(), "NTK kernel: no network");
}

std::string NTKKernel::name() const {
  int64_t p = 0;
  for (const auto& t : params_) p += t.numel();
  return "ntk:method=" + o_.method + (o_.method == "jacobian" ? "" : ",samples=" + std::to_string(o_.samples)) +
         ",parameters=" + std::to_string(p) + ",scale=" + std::to_string(scale_);
}

at::Tensor NTKKernel::features(const at::Tensor& x) const {
  // The same points as normalise_on's: the same tensor, or a tensor over the same memory (a lazy or other
  // storage-less tensor only by identity).
  const bool same = cached_x_.defined() &&
                    (x.is_same(cached_x_) ||
                     (x.has_storage() && cached_x_.has_storage() && x.sizes() == cached_x_.sizes() &&
                      x.scalar_type() == cached_x_.scalar_type() && x.device() == cached_x_.device() &&
                      x.data_ptr() == cached_x_.data_ptr()));
  if (same) return cached_phi_;
  return ntk_features(g_, params_, x.to(params_[0].device(), params_[0].scalar_type()), o_) / scale_;
}

void NTKKernel::normalise_on(const at::Tensor& x) {
  scale_ = 1;
  cached_x_ = at::Tensor();
  auto phi = features(x);
  const double mean_diag = phi.to(torch::kFloat64).square().sum(1).mean().item<double>();
  RKHS_CHECK(mean_diag > 0, "NTK kernel: the kernel is zero on these points");
  scale_ = std::sqrt(mean_diag);
  cached_x_ = x;
  cached_phi_ = phi / scale_;
}

}  // namespace rkhs::spectral
