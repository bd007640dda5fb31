// series: KCL's learned series kernel (paper 000 eq. 7) as a fixed Kernel on L2-normalised inputs,
// k(x, y) = series_kernel(<x/||x||, y/||y||>, alpha, eps).
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"
#include "rkhs/kernels/series.h"

namespace rkhs::kernels {
namespace {

constexpr long long kMaxOrder = 1000;

at::Tensor unit_rows(const at::Tensor& x) { return x / safe_row_norms(x); }

}  // namespace

SeriesKernel::SeriesKernel(std::vector<double> alpha, double eps) : alpha_(std::move(alpha)), eps_(eps) {
  RKHS_CHECK(alpha_.size() >= 3 && alpha_.size() <= kMaxOrder + 3,
             "series: alpha needs M + 3 values with 0 <= M <= 1000, got " + std::to_string(alpha_.size()));
  for (double v : alpha_)
    RKHS_CHECK(std::isfinite(v) && v >= 0,
               "series: alpha values must be finite and >= 0 (positive definite), got " + detail::format_real(v));
  RKHS_CHECK(std::isfinite(eps) && eps >= 0 && eps < 1, "series: eps must be in [0, 1), got " + detail::format_real(eps));
}

at::Tensor SeriesKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("series kernel", x, y);
  auto alpha = torch::tensor(alpha_, torch::kFloat64).to(x.options());
  return series_kernel(unit_rows(x).mm(unit_rows(y).t()), alpha, eps_);
}

at::Tensor SeriesKernel::diag(const at::Tensor& x) const {
  // t_ii = <x^, x^> is exactly 1 (0 for a zero row, as in gram); using the computed value instead would let
  // the indicators of an eps = 0 kernel depend on its last bit. The x * 0 term carries x's autograd graph.
  auto alpha = torch::tensor(alpha_, torch::kFloat64).to(x.options());
  auto t = (x != 0).any(1).to(x.scalar_type()) + (x * 0).sum(1);
  return series_kernel(t, alpha, eps_);
}

std::string SeriesKernel::name() const {
  std::string alpha;
  for (double v : alpha_) alpha += (alpha.empty() ? "" : ";") + detail::format_real(v);
  return detail::make_spec("series", {{"order", std::to_string(order())},
                                      {"eps", detail::format_real(eps_)},
                                      {"alpha", alpha}});
}

detail::KernelEntry detail::series_entry() {
  return {"series", "KCL series kernel of <x^, y^> (paper 000 eq. 7), inputs L2-normalised",
          "order=10 (M), eps=1e-06 (indicator tolerance), alpha=M+3 values a_-2;a_-1;a_0;...;a_M >= 0 (all 1)",
          [](SpecArgs& a) -> KernelPtr {
            const bool has_order = a.has("order");
            const long long order = a.integer("order", 10);
            RKHS_CHECK(order >= 0 && order <= kMaxOrder, "order must be in [0, 1000], got " + std::to_string(order));
            std::vector<double> alpha = a.reals("alpha");
            if (alpha.empty()) {
              alpha.assign(order + 3, 1.0);
            } else {
              const long long want = has_order ? order + 3 : static_cast<long long>(alpha.size());
              RKHS_CHECK(static_cast<long long>(alpha.size()) == want && want >= 3,
                         "alpha needs order + 3 = " + std::to_string(has_order ? want : 3) + (has_order ? "" : "+") +
                             " ';'-separated values, got " + std::to_string(alpha.size()));
            }
            for (double v : alpha) RKHS_CHECK(v >= 0, "alpha values must be >= 0, got " + format_real(v));
            const double eps = a.real("eps", 1e-6);
            RKHS_CHECK(eps >= 0 && eps < 1, "eps must be in [0, 1), got " + format_real(eps));
            return std::make_shared<SeriesKernel>(std::move(alpha), eps);
          }};
}

}  // namespace rkhs::kernels
