#include "rkhs/spectral/nngp.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "rkhs/core/dist.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"

namespace rkhs::spectral {
namespace {

void check(const NNGPOptions& o) {
  RKHS_CHECK(o.input_dim >= 1 && o.depth >= 1 && o.width >= 1 && o.samples >= 1,
             "NN-GP: input dimension, depth, width and samples must be >= 1");
  RKHS_CHECK(o.weight_var > 0 && o.bias_var >= 0, "NN-GP: weight variance must be > 0 and bias variance >= 0");
  RKHS_CHECK(o.activation == "relu" || o.activation == "erf",
             "NN-GP: activation must be relu or erf, got '" + o.activation + "'");
}

void check_inputs(const NNGPOptions& o, const at::Tensor& x, const at::Tensor& y) {
  RKHS_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == o.input_dim && y.size(1) == o.input_dim,
             "NN-GP kernel: expected inputs (n, " + std::to_string(o.input_dim) + ")");
}

}  // namespace

at::Tensor MonteCarloKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  auto gx = features(x).to(torch::kFloat64);
  auto gy = x.is_same(y) ? gx : features(y).to(torch::kFloat64);
  return (gx.mm(gy.t()) / double(samples())).to(x.scalar_type());
}

at::Tensor MonteCarloKernel::features_by_blocks(const at::Tensor& x) const {
  auto& dist = core::DistWorld::get();
  if (!dist.active()) return features(x);
  const auto [begin, end] = core::shard_range(x.size(0), dist.rank(), dist.size());
  // An empty share (fewer rows than processes) still needs the features' width: one row's, sliced to none.
  const auto own = begin < end ? features(x.slice(0, begin, end)) : features(x.slice(0, 0, 1)).slice(0, 0, 0);
  return dist.all_gather_rows(own, "the Monte Carlo features");
}

const std::vector<at::Tensor>& MonteCarloKernel::weights_on(const at::Tensor& x) const {
  if (x.device() == weights_.at(0).device()) return weights_;
  if (device_weights_.empty() || device_weights_[0].device() != x.device()) {
    device_weights_.clear();
    for (const auto& w : weights_) device_weights_.push_back(w.to(x.device()));
  }
  return device_weights_;
}

NNGPAnalyticKernel::NNGPAnalyticKernel(NNGPOptions o) : o_(o) { check(o_); }

std::string NNGPAnalyticKernel::name() const {
  std::ostringstream s;
  s << "nngp-" << o_.activation << ":depth=" << o_.depth << ",weight_var=" << o_.weight_var << ",bias_var=" << o_.bias_var;
  return s.str();
}

at::Tensor NNGPAnalyticKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_inputs(o_, x, y);
  const double d = double(o_.input_dim), wv = o_.weight_var, bv = o_.bias_var;
  auto kxy = bv + wv * x.mm(y.t()) / d;           // (n, m)
  auto kxx = bv + wv * x.square().sum(1) / d;      // (n,)
  auto kyy = bv + wv * y.square().sum(1) / d;      // (m,)
  for (int64_t l = 0; l < o_.depth; ++l) {
    if (o_.activation == "relu") {
      auto norms = (kxx.unsqueeze(1) * kyy.unsqueeze(0)).clamp_min(1e-300).sqrt();
      kxy = bv + wv / (2 * M_PI) * norms * kernels::arccos_j(kxy / norms, 1);
      // On the diagonal theta = 0 and J_1 = pi: K_{l+1}(x, x) = bias_var + weight_var K_l(x, x) / 2.
      kxx = bv + 0.5 * wv * kxx;
      kyy = bv + 0.5 * wv * kyy;
    } else {
      auto den = ((1 + 2 * kxx).unsqueeze(1) * (1 + 2 * kyy).unsqueeze(0)).sqrt();
      kxy = bv + wv * (2 / M_PI) * torch::asin((2 * kxy / den).clamp(-1, 1));
      kxx = bv + wv * (2 / M_PI) * torch::asin(2 * kxx / (1 + 2 * kxx));
      kyy = bv + wv * (2 / M_PI) * torch::asin(2 * kyy / (1 + 2 * kyy));
    }
  }
  return kxy;
}

NNGPMonteCarloKernel::NNGPMonteCarloKernel(NNGPOptions o) : o_(o) {
  check(o_);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o_.seed);
  int64_t in = o_.input_dim;
  for (int64_t l = 0; l <= o_.depth; ++l) {
    const int64_t out = l == o_.depth ? 1 : o_.width;
    weights_.push_back(at::normal(0, std::sqrt(o_.weight_var / double(in)), {o_.samples, in, out}, gen));
    weights_.push_back(at::normal(0, std::sqrt(o_.bias_var), {o_.samples, 1, out}, gen));
    in = out;
  }
}

std::string NNGPMonteCarloKernel::name() const {
  std::ostringstream s;
  s << "nngp-mlp-mc:activation=" << o_.activation << ",depth=" << o_.depth << ",width=" << o_.width
    << ",samples=" << o_.samples << ",weight_var=" << o_.weight_var << ",bias_var=" << o_.bias_var << ",seed=" << o_.seed;
  return s.str();
}

at::Tensor NNGPMonteCarloKernel::features(const at::Tensor& x) const {
  RKHS_CHECK(x.dim() == 2 && x.size(1) == o_.input_dim, "NN-GP kernel: expected inputs (n, " + std::to_string(o_.input_dim) + ")");
  torch::NoGradGuard g;
  auto xf = x.to(torch::kFloat32);
  const auto& w = weights_on(xf);
  const size_t layers = w.size() / 2;
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < xf.size(0); i += 256) {
    auto xb = xf.slice(0, i, std::min(xf.size(0), i + 256));
    auto h = xb.unsqueeze(0).expand({o_.samples, xb.size(0), xb.size(1)});
    for (size_t l = 0; l < layers; ++l) {
      h = torch::baddbmm(w[2 * l + 1], h, w[2 * l]);
      if (l + 1 < layers) h = o_.activation == "relu" ? h.relu() : h.erf();
    }
    parts.push_back(h.squeeze(2).t());  // (b, S)
  }
  return torch::cat(parts);
}

}  // namespace rkhs::spectral
