#include "rkhs/classify/kcl.h"

#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/heads.h"
#include "rkhs/kernels/series.h"

namespace rkhs::classify {

double kcl_default_temperature(const std::string& activation) {
  if (activation == "relu" || activation == "none") return 1.0;
  if (activation == "sigmoid") return 0.1;
  if (activation == "softmax") return 0.005;
  throw Error("kernelized head: unknown coefficient activation '" + activation +
              "' (expected relu, sigmoid, softmax or none)");
}

KernelizedOptions::KernelizedOptions(const HeadOptions& o)
    : dim_(o.dim),
      classes_(o.classes),
      order_(o.order),
      activation_(o.activation),
      temperature_(o.temperature),
      alpha_weight_decay_(o.alpha_weight_decay),
      indicator_eps_(o.indicator_eps) {}

KernelizedHeadImpl::KernelizedHeadImpl(const KernelizedOptions& options) : options_(options) {
  HeadOptions dims;
  dims.dim = options_.dim();
  dims.classes = options_.classes();
  detail::check_dims(dims, "kernelized");
  RKHS_CHECK(options_.order() >= 0, "kernelized head: order M must be >= 0, got " + std::to_string(options_.order()));
  RKHS_CHECK(options_.indicator_eps() >= 0 && options_.indicator_eps() < 1,
             "kernelized head: indicator_eps must be in [0, 1), got " + detail::fmt(options_.indicator_eps()));
  const double default_t = kcl_default_temperature(options_.activation());  // validates the activation
  RKHS_CHECK(std::isfinite(options_.temperature()), "kernelized head: temperature must be a finite number");
  RKHS_CHECK(std::isfinite(options_.alpha_weight_decay()), "kernelized head: alpha weight decay must be a finite number");
  temperature_ = options_.temperature() > 0 ? options_.temperature() : default_t;
  RKHS_CHECK(std::isfinite(temperature_), "kernelized head: temperature must be finite");
  weight = register_parameter("weight", detail::sphere_weight_init(options_.classes(), options_.dim()));
  const auto& act = options_.activation();
  activation_ = act == "relu" ? Activation::relu : act == "sigmoid" ? Activation::sigmoid
              : act == "softmax" ? Activation::softmax : Activation::none;  // validated above
  const double init = (activation_ == Activation::relu || activation_ == Activation::none) ? 1.0 : 0.0;
  alpha_raw = register_parameter("alpha_raw", torch::full({options_.order() + 3}, init));
}

torch::Tensor KernelizedHeadImpl::alpha() const {
  switch (activation_) {
    case Activation::relu:
      return torch::relu(alpha_raw);
    case Activation::sigmoid:
      return torch::sigmoid(alpha_raw);
    case Activation::softmax:
      return torch::softmax(alpha_raw, 0);
    case Activation::none:
      break;
  }
  return alpha_raw;
}

torch::Tensor KernelizedHeadImpl::cosines(const torch::Tensor& z) const { return sphere_cosines(z, weight); }

torch::Tensor KernelizedHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, options_.dim(), "kernelized");
  return kcl_logits(z, weight, alpha(), options_.indicator_eps(), temperature_);
}

std::vector<std::pair<std::string, double>> KernelizedHeadImpl::weight_decay_overrides() const {
  const double wd = options_.alpha_weight_decay() >= 0 ? options_.alpha_weight_decay()
                                                       : (options_.activation() == "relu" ? 1e-4 : 0.0);
  return {{"alpha_raw", wd}};
}

std::string KernelizedHeadImpl::describe() const {
  return "kernelized(M=" + std::to_string(options_.order()) + ", act=" + options_.activation() +
         ", T=" + detail::fmt(temperature_) + ", eps=" + detail::fmt(options_.indicator_eps()) + ")";
}

}  // namespace rkhs::classify
