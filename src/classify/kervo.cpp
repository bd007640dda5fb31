#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/heads.h"

namespace rkhs::classify {

KervoHeadImpl::KervoHeadImpl(const HeadOptions& o) : rbf_(o.name == "kervo-rbf"), gamma_(o.gamma), degree_(o.kervo_degree) {
  detail::check_dims(o, o.name);
  if (rbf_)
    RKHS_CHECK(gamma_ > 0 && std::isfinite(gamma_), "kervo-rbf head: gamma must be positive, got " + detail::fmt(gamma_));
  else
    RKHS_CHECK(degree_ >= 1, "kervo-poly head: kervo_degree must be >= 1, got " + std::to_string(degree_));
  auto [w, b] = detail::linear_init(o.classes, o.dim);
  weight = register_parameter("weight", w);
  bias = register_parameter("bias", b.zero_());
  log_scale = register_parameter("log_scale", torch::full({}, std::log(rbf_ ? 10.0 : 1.0)));
}

std::vector<std::pair<std::string, double>> KervoHeadImpl::weight_decay_overrides() const {
  return {{"log_scale", 0.0}};
}

torch::Tensor KervoHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, weight.size(1), rbf_ ? "kervo-rbf" : "kervo-poly");
  // The embedding is L2-normalised (as in the paper's softmax baseline): on raw backbone embeddings the
  // cubic overflows and the Gaussian underflows to 0 for every class, and training never starts.
  const auto zh = l2_normalize_rows(z);
  const auto s = log_scale.exp();
  if (!rbf_) return s * (torch::matmul(zh, weight.t()) + 1.0).pow(degree_) + bias;
  // ||z - w||^2 = ||z||^2 + ||w||^2 - 2 <z, w>, clamped at 0 against rounding (no square root: smooth at 0).
  auto d2 = (zh.pow(2).sum(1, true) + weight.pow(2).sum(1).unsqueeze(0) - 2.0 * torch::matmul(zh, weight.t())).clamp_min(0);
  return s * torch::exp(-gamma_ * d2) + bias;
}

std::string KervoHeadImpl::describe() const {
  return rbf_ ? "kervo-rbf(gamma=" + detail::fmt(gamma_) + ")" : "kervo-poly(degree=" + std::to_string(degree_) + ")";
}

}  // namespace rkhs::classify
