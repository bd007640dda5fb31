#include "rkhs/kernels/distance.h"

#include <torch/torch.h>

#include <sstream>

#include "rkhs/error.h"

namespace rkhs::kernels {
namespace {

// Smallest squared norm used in safe_row_norms: large enough that 1/sqrt(tiny) is finite in the dtype.
double tiny_for(at::ScalarType t) { return t == at::kHalf ? 1e-4 : 1e-30; }

std::string shape_of(const at::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

// Blocked direct pairwise squared distances without autograd.
at::Tensor direct_forward(const at::Tensor& x, const at::Tensor& y) {
  const int64_t n = x.size(0), m = y.size(0), d = x.size(1);
  auto out = torch::empty({n, m}, x.options());
  const int64_t budget = int64_t{1} << 22;  // elements of one (rows, m, d) block of differences
  const int64_t rows = std::max<int64_t>(1, budget / std::max<int64_t>(1, m * d));
  for (int64_t i = 0; i < n; i += rows) {
    const int64_t r = std::min(rows, n - i);
    auto diff = x.narrow(0, i, r).unsqueeze(1) - y.unsqueeze(0);  // (r, m, d)
    out.narrow(0, i, r).copy_(diff.square().sum(-1));
  }
  return out;
}

struct DirectSquaredDistances : public torch::autograd::Function<DirectSquaredDistances> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& y) {
    ctx->save_for_backward({x, y});
    return direct_forward(x, y);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& y = saved[1];
    const auto& g = grads[0];  // (n, m)
    // d/dx_i sum_j g_ij ||x_i - y_j||^2 = 2 (x_i sum_j g_ij - sum_j g_ij y_j).
    auto gx = 2 * (x * g.sum(1, true) - g.mm(y));
    auto gy = 2 * (y * g.sum(0).unsqueeze(1) - g.t().mm(x));
    return {gx, gy};
  }
};

}  // namespace

void check_gram_inputs(const char* who, const at::Tensor& x, const at::Tensor& y) {
  RKHS_CHECK(x.defined() && y.defined(), std::string(who) + ": undefined input tensor");
  RKHS_CHECK(x.dim() == 2 && y.dim() == 2,
             std::string(who) + ": inputs must be (n, d) and (m, d), got " + shape_of(x) + " and " + shape_of(y));
  RKHS_CHECK(x.size(1) == y.size(1), std::string(who) + ": feature dimensions differ: " + shape_of(x) + " vs " +
                                         shape_of(y));
  RKHS_CHECK(at::isFloatingType(x.scalar_type()) && x.scalar_type() == y.scalar_type(),
             std::string(who) + ": inputs must share one floating dtype, got " +
                 std::string(c10::toString(x.scalar_type())) + " and " + std::string(c10::toString(y.scalar_type())));
  RKHS_CHECK(x.device() == y.device(), std::string(who) + ": inputs are on different devices");
}

at::Tensor squared_distances(const at::Tensor& x, const at::Tensor& y) {
  check_gram_inputs("squared_distances", x, y);
  auto xx = x.square().sum(1, true);            // (n, 1)
  auto yy = y.square().sum(1).unsqueeze(0);     // (1, m)
  return torch::addmm(xx + yy, x, y.t(), 1, -2).clamp_min(0);  // ||x||^2 + ||y||^2 - 2 x y^T in one product
}

at::Tensor squared_distances_direct(const at::Tensor& x, const at::Tensor& y) {
  check_gram_inputs("squared_distances_direct", x, y);
  return DirectSquaredDistances::apply(x, y);
}

at::Tensor safe_row_norms(const at::Tensor& x) {
  return x.square().sum(1, true).clamp_min(tiny_for(x.scalar_type())).sqrt();
}

}  // namespace rkhs::kernels
