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
}

torch::Tensor KervoHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, weight.size(1), rbf_ ? "kervo-rbf" : "kervo-poly");
  if (!rbf_) return (torch::matmul(z, weight.t()) + 1.0).pow(degree_) + bias;
  // ||z - w||^2 = ||z||^2 + ||w||^2 - 2 <z, w>, clamped at 0 against rounding (no square root: smooth at 0).
  auto d2 = (z.pow(2).sum(1, true) + weight.pow(2).sum(1).unsqueeze(0) - 2.0 * torch::matmul(z, weight.t())).clamp_min(0);
  return torch::exp(-gamma_ * d2) + bias;
}

std::string KervoHeadImpl::describe() const {
  return rbf_ ? "kervo-rbf(gamma=" + detail::fmt(gamma_) + ")" : "kervo-poly(degree=" + std::to_string(degree_) + ")";
}

}  // namespace rkhs::classify
