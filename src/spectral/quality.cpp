#include "rkhs/spectral/quality.h"

#include <torch/torch.h>

#include "rkhs/error.h"

namespace rkhs::spectral {

at::Tensor eigenvalue_relative_error(const at::Tensor& est, const at::Tensor& ref) {
  RKHS_CHECK(est.sizes() == ref.sizes() && est.dim() == 1, "eigenvalue error: expected two (k,) vectors");
  auto e = est.to(torch::kFloat64), r = ref.to(torch::kFloat64);
  return (e - r).abs() / r.abs();
}

at::Tensor alignment(const at::Tensor& a, const at::Tensor& b) {
  RKHS_CHECK(a.sizes() == b.sizes() && a.dim() == 2, "alignment: expected two (m, k) matrices of the same shape");
  auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  auto denom = x.norm(2, 0) * y.norm(2, 0);
  return torch::where(denom > 0, (x * y).sum(0).abs() / denom.clamp_min(1e-300), torch::zeros_like(denom));
}

double orthogonality_error(const at::Tensor& psi) {
  RKHS_CHECK(psi.dim() == 2 && psi.size(0) > 0, "orthogonality: expected (m, k)");
  auto p = psi.to(torch::kFloat64);
  return (p.t().mm(p) / double(p.size(0)) - torch::eye(p.size(1), torch::kFloat64)).norm().item<double>();
}

}  // namespace rkhs::spectral
