#include "rkhs/ckn/inverse_sqrt.h"

#include <torch/torch.h>

#include "rkhs/compat.h"
#include "rkhs/error.h"

namespace rkhs::ckn {
namespace {

struct InverseSqrt : public torch::autograd::Function<InverseSqrt> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& k, double eps) {
    auto [e, v] = compat::eigh(k);
    auto r = e.clamp_min(0).sqrt();
    auto s = r + eps;
    ctx->save_for_backward({v, r, s});
    return (v / s.unsqueeze(0)).mm(v.t());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &v = saved[0], &r = saved[1], &s = saved[2];
    auto g = grads[0];
    g = (g + g.t()) * 0.5;
    auto rr = r.unsqueeze(1) + r.unsqueeze(0);
    auto gamma = -1.0 / (s.unsqueeze(1) * s.unsqueeze(0) * rr.clamp_min(1e-300));
    gamma = torch::where(rr > 0, gamma, torch::zeros_like(gamma));
    auto dk = v.mm((v.t().mm(g).mm(v)) * gamma).mm(v.t());
    return {dk, at::Tensor()};
  }
};

}  // namespace

at::Tensor inverse_sqrt(const at::Tensor& k, double eps) {
  RKHS_CHECK(k.dim() == 2 && k.size(0) == k.size(1) && k.size(0) > 0,
             "inverse_sqrt: expected a non-empty square matrix, got shape " + std::to_string(k.dim()) + "-D");
  RKHS_CHECK(eps > 0, "inverse_sqrt: eps must be positive");
  RKHS_CHECK(torch::isfinite(k).all().item<bool>(), "inverse_sqrt: the kernel matrix has NaN or infinite entries");
  return InverseSqrt::apply(k, eps);
}

}  // namespace rkhs::ckn
