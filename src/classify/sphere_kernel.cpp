#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/heads.h"

namespace rkhs::classify {

SphereKernelHeadImpl::SphereKernelHeadImpl(const HeadOptions& o) : kind_(o.name), sigma_(o.sigma), degree_(o.poly_degree) {
  detail::check_dims(o, kind_);
  RKHS_CHECK(kind_ == "rbf" || kind_ == "rbf-learned" || kind_ == "poly", "sphere kernel head: unknown kind " + kind_);
  if (kind_ == "poly")
    RKHS_CHECK(degree_ >= 1, "poly head: poly_degree must be >= 1, got " + std::to_string(degree_));
  else
    RKHS_CHECK(sigma_ > 0 && std::isfinite(sigma_), kind_ + " head: sigma must be positive, got " + detail::fmt(sigma_));
  RKHS_CHECK(std::isfinite(o.temperature), kind_ + " head: temperature must be finite");
  weight = register_parameter("weight", detail::sphere_weight_init(o.classes, o.dim));
  const double t = o.temperature > 0 ? o.temperature : 0.1;
  log_scale = register_parameter("log_scale", torch::full({}, -std::log(t)));
  if (kind_ == "rbf-learned") log_sigma = register_parameter("log_sigma", torch::full({}, std::log(sigma_)));
}

torch::Tensor SphereKernelHeadImpl::sigma() const {
  return log_sigma.defined() ? log_sigma.exp() : torch::full({}, sigma_, weight.options());
}

torch::Tensor SphereKernelHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, weight.size(1), kind_);
  const auto t = sphere_cosines(z, weight);
  torch::Tensor k;
  if (kind_ == "poly")
    k = ((t + 1.0) * 0.5).pow(degree_);  // (t + 1)^p / 2^p in [0, 1]
  else if (kind_ == "rbf")
    k = torch::exp(-(1.0 - t) / (sigma_ * sigma_));  // ||z_hat - w_hat||^2 = 2 (1 - t)
  else
    k = torch::exp(-(1.0 - t) * torch::exp(-2.0 * log_sigma));
  return k * log_scale.exp();
}

std::vector<std::pair<std::string, double>> SphereKernelHeadImpl::weight_decay_overrides() const {
  if (log_sigma.defined()) return {{"log_scale", 0.0}, {"log_sigma", 0.0}};
  return {{"log_scale", 0.0}};
}

std::string SphereKernelHeadImpl::describe() const {
  const std::string s = "s=" + detail::fmt(log_scale.exp().item<double>()) + " learned";
  if (kind_ == "poly") return "poly(degree=" + std::to_string(degree_) + ", " + s + ")";
  if (kind_ == "rbf") return "rbf(sigma=" + detail::fmt(sigma_) + ", " + s + ")";
  return "rbf-learned(sigma=" + detail::fmt(sigma().item<double>()) + " learned, " + s + ")";
}

}  // namespace rkhs::classify
