#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/heads.h"

namespace rkhs::classify {

MklHeadImpl::MklHeadImpl(const HeadOptions& o)
    : sigma_(o.sigma), temperature_(o.temperature > 0 ? o.temperature : 1.0) {
  detail::check_dims(o, "mkl");
  RKHS_CHECK(sigma_ > 0 && std::isfinite(sigma_), "mkl head: sigma must be positive, got " + detail::fmt(sigma_));
  RKHS_CHECK(std::isfinite(temperature_), "mkl head: temperature must be finite");
  weight = register_parameter("weight", detail::sphere_weight_init(o.classes, o.dim));
  // softplus(log(e - 1)) = 1: the three kernels start with equal weight 1.
  beta_raw = register_parameter("beta_raw", torch::full({3}, std::log(std::exp(1.0) - 1.0)));
  log_scale = register_parameter("log_scale", torch::zeros({}));
}

torch::Tensor MklHeadImpl::beta() const { return torch::softplus(beta_raw); }

torch::Tensor MklHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, weight.size(1), "mkl");
  const auto t = sphere_cosines(z, weight);
  const auto b = beta();
  auto k = b[0] * t + b[1] * t * t + b[2] * torch::exp(-(1.0 - t) / (sigma_ * sigma_));
  return k * (log_scale.exp() / temperature_);
}

std::vector<std::pair<std::string, double>> MklHeadImpl::weight_decay_overrides() const {
  return {{"log_scale", 0.0}};
}

std::string MklHeadImpl::describe() const {
  auto b = beta().detach().to(torch::kDouble);
  return "mkl(beta=[" + detail::fmt(b[0].item<double>()) + ", " + detail::fmt(b[1].item<double>()) + ", " +
         detail::fmt(b[2].item<double>()) + "], sigma=" + detail::fmt(sigma_) + ", T=" + detail::fmt(temperature_) +
         ", s=" + detail::fmt(log_scale.exp().item<double>()) + " learned)";
}

}  // namespace rkhs::classify
