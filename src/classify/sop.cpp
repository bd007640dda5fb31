#include <torch/torch.h>

#include "common.h"
#include "rkhs/classify/heads.h"

namespace rkhs::classify {

namespace {
constexpr double kSqrtEps = 1e-10;  // smoothing of the signed square root at 0
}

SopHeadImpl::SopHeadImpl(const HeadOptions& o) : dim_(o.dim) {
  detail::check_dims(o, "sop");
  auto [w, b] = detail::linear_init(o.classes, feature_dim());
  weight = register_parameter("weight", w);
  bias = register_parameter("bias", b.zero_());
}

torch::Tensor SopHeadImpl::features(const torch::Tensor& z) const {
  const auto b = z.size(0);
  auto outer = torch::bmm(z.unsqueeze(2), z.unsqueeze(1)).reshape({b, dim_ * dim_});  // (B, d*d)
  // .to(): a no-op on the CPU and CUDA; LibTorch 1.13's lazy device (tests/device) returns these on the CPU.
  auto idx = torch::triu_indices(dim_, dim_, 0, torch::TensorOptions().dtype(torch::kLong).device(z.device())).to(z.device());
  auto u = outer.index_select(1, idx[0] * dim_ + idx[1]);                                // (B, d(d+1)/2)
  // Signed square root sign(u) sqrt(|u|) written as u / sqrt(|u| + eps): finite slope 1/sqrt(eps) at u = 0,
  // relative deviation eps / (2|u|) elsewhere.
  auto v = u / (u.abs() + kSqrtEps).sqrt();
  return l2_normalize_rows(v);
}

torch::Tensor SopHeadImpl::forward(const torch::Tensor& z) {
  detail::check_input(z, dim_, "sop");
  return torch::addmm(bias, features(z), weight.t());
}

std::string SopHeadImpl::describe() const {
  return "sop(features=" + std::to_string(feature_dim()) + ")";
}

}  // namespace rkhs::classify
