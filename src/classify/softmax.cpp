#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/heads.h"

namespace rkhs::classify {

SoftmaxHeadImpl::SoftmaxHeadImpl(const HeadOptions& o) : normalize_name_(o.normalize) {
  detail::check_dims(o, "softmax");
  if (o.normalize == "none" || o.normalize == "embedding") {
    normalize_ = o.normalize == "none" ? Normalize::none : Normalize::embedding;
    auto [w, b] = detail::linear_init(o.classes, o.dim);
    weight = register_parameter("weight", w);
    bias = register_parameter("bias", b);
  } else if (o.normalize == "both-fixed" || o.normalize == "both-learned") {
    normalize_ = o.normalize == "both-fixed" ? Normalize::both_fixed : Normalize::both_learned;
    weight = register_parameter("weight", detail::sphere_weight_init(o.classes, o.dim));
    const double t = o.temperature > 0 ? o.temperature : 0.1;
    if (normalize_ == Normalize::both_fixed)
      fixed_temperature_ = t;
    else
      log_scale = register_parameter("log_scale", torch::full({}, -std::log(t)));
  } else {
    throw Error("softmax head: unknown normalize '" + o.normalize +
                "' (expected none, embedding, both-fixed or both-learned)");
  }
}

torch::Tensor SoftmaxHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, weight.size(1), "softmax");
  switch (normalize_) {
    case Normalize::none:
      return torch::addmm(bias, z, weight.t());
    case Normalize::embedding:
      return torch::addmm(bias, l2_normalize_rows(z), weight.t());
    case Normalize::both_fixed:
      return sphere_cosines(z, weight) / fixed_temperature_;
    case Normalize::both_learned:
      break;
  }
  return sphere_cosines(z, weight) * log_scale.exp();
}

std::vector<std::pair<std::string, double>> SoftmaxHeadImpl::weight_decay_overrides() const {
  if (log_scale.defined()) return {{"log_scale", 0.0}};
  return {};
}

std::string SoftmaxHeadImpl::describe() const {
  std::string s = "softmax(normalize=" + normalize_name_;
  if (normalize_ == Normalize::both_fixed) s += ", T=" + detail::fmt(fixed_temperature_);
  if (normalize_ == Normalize::both_learned) s += ", s=" + detail::fmt(log_scale.exp().item<double>()) + " learned";
  return s + ")";
}

CosineHeadImpl::CosineHeadImpl(const HeadOptions& o) {
  detail::check_dims(o, "cosine");
  weight = register_parameter("weight", detail::sphere_weight_init(o.classes, o.dim));
  const double t = o.temperature > 0 ? o.temperature : 0.1;
  log_scale = register_parameter("log_scale", torch::full({}, -std::log(t)));
}

torch::Tensor CosineHeadImpl::scale() const { return log_scale.exp(); }

torch::Tensor CosineHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, weight.size(1), "cosine");
  return sphere_cosines(z, weight) * scale();
}

std::vector<std::pair<std::string, double>> CosineHeadImpl::weight_decay_overrides() const {
  return {{"log_scale", 0.0}};
}

std::string CosineHeadImpl::describe() const {
  return "cosine(s=" + detail::fmt(scale().item<double>()) + " learned)";
}

}  // namespace rkhs::classify
