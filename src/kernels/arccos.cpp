// arccos: Cho & Saul's arc-cosine kernel of order 0 or 1 (the NN-GP kernel of one step or ReLU layer),
//   k_n(x, y) = (1/pi) ||x||^n ||y||^n J_n(theta),  theta = arccos(x^T y / (||x|| ||y||)),
//   J_0(theta) = pi - theta,  J_1(theta) = sin theta + (pi - theta) cos theta.
#include <torch/torch.h>

#include <cmath>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {
namespace {

constexpr double kPi = 3.14159265358979323846;
// Order 0 only: lower bound on 1 - c^2 in the derivative 1 / sqrt(1 - c^2), i.e. the derivative is that of
// the cosine clamped to +-(1 - 1e-7). J_0 is not differentiable at theta = 0 (infinite slope).
constexpr double kOrder0SinSqFloor = 2e-7;

// J_n as a function of the cosine c, with a hand-written derivative. Autograd through acos and sqrt would give
// inf - inf = NaN at c = +-1, although dJ_1/dc = pi - arccos(c) is finite and continuous on [-1, 1]
// (the sin-theta terms cancel). Values are computed on c clamped to [-1, 1] without any further clamping, so
// k(x, x) is exact; sin theta is sqrt((1 - c)(1 + c)), which keeps the cancellation in J_1 accurate near c = 1.
struct ArcCosJ : public torch::autograd::Function<ArcCosJ> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& c, int64_t order) {
    ctx->save_for_backward({c});
    ctx->saved_data["order"] = order;
    auto cc = c.clamp(-1, 1);
    auto rest = kPi - cc.acos();  // pi - theta
    if (order == 0) return rest;
    return ((1 - cc) * (1 + cc)).sqrt() + rest * cc;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto cc = ctx->get_saved_variables()[0].clamp(-1, 1);
    const int64_t order = ctx->saved_data["order"].toInt();
    at::Tensor d;
    if (order == 0)
      d = ((1 - cc) * (1 + cc)).clamp_min(kOrder0SinSqFloor).rsqrt();
    else
      d = kPi - cc.acos();
    return {grads[0] * d, at::Tensor()};
  }
};

}  // namespace

at::Tensor arccos_j(const at::Tensor& cosine, int64_t order) {
  RKHS_CHECK(order == 0 || order == 1, "arccos_j: order must be 0 or 1, got " + std::to_string(order));
  return ArcCosJ::apply(cosine, order);
}

ArcCosKernel::ArcCosKernel(int64_t order) : order_(order) {
  RKHS_CHECK(order == 0 || order == 1, "arccos: order must be 0 or 1, got " + std::to_string(order));
}

at::Tensor ArcCosKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("arccos kernel", x, y);
  auto nx = safe_row_norms(x);      // (n, 1)
  auto ny = safe_row_norms(y).t();  // (1, m)
  auto norms = nx * ny;
  auto j = ArcCosJ::apply(x.mm(y.t()) / norms, order_);
  return order_ == 0 ? j * (1 / kPi) : norms * j * (1 / kPi);
}

at::Tensor ArcCosKernel::diag(const at::Tensor& x) const {
  // Same formula as gram with the cosine of x_i with itself set to exactly 1 (0 for a zero row, as in gram),
  // O(n d): k_0(x, x) = 1, k_1(x, x) = ||x||^2.
  auto n2 = safe_row_norms(x).squeeze(1).square();
  auto j = ArcCosJ::apply((x != 0).any(1).to(x.scalar_type()), order_);
  // Order 0 is constant (zero gradient); written as a function of x so the result carries x's graph.
  return order_ == 0 ? j * (1 / kPi) + (x * 0).sum(1) : n2 * j * (1 / kPi);
}

std::string ArcCosKernel::name() const { return detail::make_spec("arccos", {{"order", std::to_string(order_)}}); }

detail::KernelEntry detail::arccos_entry() {
  return {"arccos", "(1/pi) ||x||^n ||y||^n J_n(angle(x, y)), n = 0 (step) or 1 (ReLU)", "order=1 (0 or 1)",
          [](SpecArgs& a) -> KernelPtr {
            const long long order = a.integer("order", 1);
            RKHS_CHECK(order == 0 || order == 1, "order must be 0 or 1, got " + std::to_string(order));
            return std::make_shared<ArcCosKernel>(order);
          }};
}

}  // namespace rkhs::kernels
