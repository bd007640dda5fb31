#pragma once
// Tiny local models and data for the trainer tests (independent of the real backbones and heads).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "rkhs/classify/head.h"
#include "rkhs/classify/model.h"
#include "rkhs/data/dataset.h"
#include "rkhs/nn/backbone.h"
#include "rkhs/train/trainer.h"

namespace toy {

// z = x (B, d).
class IdentityBackbone : public rkhs::nn::BackboneImpl {
 public:
  explicit IdentityBackbone(int64_t d) : d_(d) {}
  torch::Tensor forward(const torch::Tensor& x) override { return x.reshape({x.size(0), -1}); }
  int64_t output_dim() const override { return d_; }

 private:
  int64_t d_;
};

// logits = scale * (z W^T + b), with an optional weight-decay override on "scale".
class LinearHead : public rkhs::classify::HeadImpl {
 public:
  LinearHead(int64_t d, int64_t c, double scale_wd = -1) : scale_wd_(scale_wd) {
    weight = register_parameter("weight", torch::randn({c, d}) * 0.1);
    bias = register_parameter("bias", torch::zeros({c}));
    scale = register_parameter("scale", torch::ones({1}));
  }
  torch::Tensor forward(const torch::Tensor& z) override { return scale * torch::addmm(bias, z, weight.t()); }
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const override {
    if (scale_wd_ < 0) return {};
    return {{"scale", scale_wd_}};
  }
  std::string describe() const override { return "linear"; }
  torch::Tensor weight, bias, scale;

 private:
  double scale_wd_;
};

// A linear head whose output turns into NaN after `good_calls` training-mode forward passes.
class NaNHead : public LinearHead {
 public:
  NaNHead(int64_t d, int64_t c, int good_calls) : LinearHead(d, c), good_calls_(good_calls) {}
  torch::Tensor forward(const torch::Tensor& z) override {
    auto out = LinearHead::forward(z);
    if (is_training() && calls_++ >= good_calls_) out = out * std::nan("");
    return out;
  }

 private:
  int good_calls_;
  int calls_ = 0;
};

// A linear head whose training output turns into NaN once a parameter exceeds `limit` in magnitude: a stand-in
// for a model that a too-large rate blows up and a smaller one trains.
class BlowUpHead : public LinearHead {
 public:
  BlowUpHead(int64_t d, int64_t c, double limit) : LinearHead(d, c), limit_(limit) {}
  torch::Tensor forward(const torch::Tensor& z) override {
    auto out = LinearHead::forward(z);
    const double largest = std::max({weight.abs().max().item<double>(), bias.abs().max().item<double>(),
                                     scale.abs().max().item<double>()});
    if (is_training() && largest > limit_) out = out * std::nan("");
    return out;
  }

 private:
  double limit_;
};

// A linear head that adds noise from the global CPU generator to its training output, as dropout would: a run's
// result then depends on the random state it trains with.
class NoisyHead : public LinearHead {
 public:
  NoisyHead(int64_t d, int64_t c) : LinearHead(d, c) {}
  torch::Tensor forward(const torch::Tensor& z) override {
    auto out = LinearHead::forward(z);
    return is_training() ? out + 0.5 * torch::randn_like(out) : out;
  }
};

// Quiet training options for the toy problems: batch 32, weight decay 1e-4, seed 1, no progress line.
inline rkhs::train::TrainOptions quiet(const std::string& optimizer, double lr, int64_t epochs) {
  rkhs::train::TrainOptions o;
  o.optimizer = optimizer;
  o.lr = lr;
  o.epochs = epochs;
  o.batch_size = 32;
  o.weight_decay = 1e-4;
  o.progress = false;
  o.seed = 1;
  return o;
}

inline std::shared_ptr<rkhs::classify::ClassifierImpl> linear_model(int64_t d, int64_t c, double scale_wd = -1) {
  return std::make_shared<rkhs::classify::ClassifierImpl>(std::make_shared<IdentityBackbone>(d),
                                                          std::make_shared<LinearHead>(d, c, scale_wd));
}

// n points in 2-D, label 1 iff x0 + 0.5 x1 > 0, with a margin of 0.2 around the boundary.
inline rkhs::data::Dataset separable(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<torch::Tensor> xs;
  int64_t have = 0;
  while (have < n) {
    auto x = at::randn({4 * n, 2}, gen);
    auto s = x.select(1, 0) + 0.5 * x.select(1, 1);
    auto keep = s.abs() > 0.2;
    auto kept = x.index({keep});
    xs.push_back(kept);
    have += kept.size(0);
  }
  rkhs::data::Dataset d;
  d.x = torch::cat(xs).slice(0, 0, n).contiguous();
  d.y = (d.x.select(1, 0) + 0.5 * d.x.select(1, 1) > 0).to(torch::kLong);
  d.num_classes = 2;
  d.name = "toy";
  return d;
}

}  // namespace toy
