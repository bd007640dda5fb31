// rbf: k(x, y) = exp(-gamma ||x - y||^2), gamma = 1 / (2 sigma^2).
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {

RbfKernel::RbfKernel(double gamma) : gamma_(gamma) {
  RKHS_CHECK(std::isfinite(gamma) && gamma > 0, "rbf: gamma must be > 0, got " + detail::format_real(gamma));
}

at::Tensor RbfKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("rbf kernel", x, y);
  // The matmul form is accurate here: exp(-gamma d2) is smooth in d2, and d2's rounding error (~1e-16 ||x||^2
  // in float64) changes k by the same relative amount.
  return (squared_distances(x, y) * (-gamma_)).exp();
}

// k(x, x) = 1; written as a function of x (zero gradient) so the result carries x's autograd graph.
at::Tensor RbfKernel::diag(const at::Tensor& x) const { return (x * 0).sum(1) + 1; }

std::string RbfKernel::name() const { return detail::make_spec("rbf", {{"gamma", detail::format_real(gamma_)}}); }

detail::KernelEntry detail::rbf_entry() {
  return {"rbf", "exp(-gamma ||x - y||^2)", "gamma=1 (> 0), or sigma (> 0): gamma = 1 / (2 sigma^2)",
          [](SpecArgs& a) -> KernelPtr {
            const bool has_gamma = a.has("gamma"), has_sigma = a.has("sigma");
            RKHS_CHECK(!(has_gamma && has_sigma), "give gamma or sigma, not both");
            if (has_sigma) {
              const double sigma = a.real("sigma", 1);
              RKHS_CHECK(sigma > 0, "sigma must be > 0, got " + format_real(sigma));
              const double gamma = 1 / (2 * sigma * sigma);
              RKHS_CHECK(std::isfinite(gamma) && gamma > 0, "sigma " + format_real(sigma) + " is out of range");
              return std::make_shared<RbfKernel>(gamma);
            }
            const double gamma = a.real("gamma", 1);
            RKHS_CHECK(gamma > 0, "gamma must be > 0, got " + format_real(gamma));
            return std::make_shared<RbfKernel>(gamma);
          }};
}

}  // namespace rkhs::kernels
