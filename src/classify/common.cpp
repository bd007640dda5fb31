#include "common.h"

#include <torch/torch.h>

#include "rkhs/classify/heads.h"

namespace rkhs::classify {

torch::Tensor l2_normalize_rows(const torch::Tensor& x) {
  // linalg norm's backward is 0 where the norm is 0, and clamp_min passes no gradient below 1e-12, so
  // x = 0 gives x_hat = 0 with a finite gradient.
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
}

torch::Tensor sphere_cosines(const torch::Tensor& z, const torch::Tensor& w) {
  // Two one-sided clamps: the values and gradient of clamp(-1, 1), and differentiable on LibTorch 1.13's lazy
  // device too (tests/device), whose two-sided clamp has no backward pass.
  return torch::matmul(l2_normalize_rows(z), l2_normalize_rows(w).t()).clamp_min(-1.0).clamp_max(1.0);
}

namespace detail {

void check_input(const at::Tensor& z, int64_t dim, const std::string& head) {
  RKHS_CHECK(z.dim() == 2 && z.size(1) == dim,
             head + " head: expected embeddings (B, " + std::to_string(dim) + "), found " +
                 [&] {
                   std::string s = "(";
                   for (int64_t i = 0; i < z.dim(); ++i) s += (i ? ", " : "") + std::to_string(z.size(i));
                   return s + ")";
                 }());
  RKHS_CHECK(z.is_floating_point(), head + " head: embeddings must be floating point");
}

at::Tensor sphere_weight_init(int64_t classes, int64_t dim) {
  return torch::randn({classes, dim}) / std::sqrt(static_cast<double>(dim));
}

std::pair<at::Tensor, at::Tensor> linear_init(int64_t out, int64_t in) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  return {torch::empty({out, in}).uniform_(-bound, bound), torch::empty({out}).uniform_(-bound, bound)};
}

}  // namespace detail
}  // namespace rkhs::classify
