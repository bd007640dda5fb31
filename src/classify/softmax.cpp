#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/heads.h"

namespace rkhs::classify {

SoftmaxHeadImpl::SoftmaxHeadImpl(const HeadOptions& o) : normalize_(o.normalize) {
  detail::check_dims(o, "softmax");
  if (normalize_ == "none" || normalize_ == "embedding") {
    auto [w, b] = detail::linear_init(o.classes, o.dim);
    weight = register_parameter("weight", w);
    bias = register_parameter("bias", b);
  } else if (normalize_ == "both-fixed" || normalize_ == "both-learned") {
    weight = register_parameter("weight", detail::sphere_weight_init(o.classes, o.dim));
    const double t = o.temperature > 0 ? o.temperature : 0.1;
    if (normalize_ == "both-fixed")
      fixed_temperature_ = t;
    else
      log_scale = register_parameter("log_scale", torch::full({}, -std::log(t)));
  } else {
    throw Error("softmax head: unknown normalize '" + normalize_ +
                "' (expected none, embedding, both-fixed or both-learned)");
  }
}

torch::Tensor SoftmaxHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, weight.size(1), "softmax");
  if (normalize_ == "none") return torch::addmm(bias, z, weight.t());
  if (normalize_ == "embedding") return torch::addmm(bias, l2_normalize_rows(z), weight.t());
  const auto t = sphere_cosines(z, weight);
  if (normalize_ == "both-fixed") return t / fixed_temperature_;
  return t * log_scale.exp();
}

std::vector<std::pair<std::string, double>> SoftmaxHeadImpl::weight_decay_overrides() const {
  if (log_scale.defined()) return {{"log_scale", 0.0}};
  return {};
}

std::string SoftmaxHeadImpl::describe() const {
  std::string s = "softmax(normalize=" + normalize_;
  if (normalize_ == "both-fixed") s += ", T=" + detail::fmt(fixed_temperature_);
  if (normalize_ == "both-learned") s += ", s=" + detail::fmt(log_scale.exp().item<double>()) + " learned";
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
