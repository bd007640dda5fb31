// finite: kernelNet's finite-support kernel k(u, v) = max(0, 1 - a ||u - v||^2); not positive definite.
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {

FiniteSupportKernel::FiniteSupportKernel(double a) : a_(a) {
  RKHS_CHECK(std::isfinite(a) && a > 0, "finite: a must be > 0, got " + detail::format_real(a));
}

at::Tensor FiniteSupportKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("finite kernel", x, y);
  // Squared distance from the differences (never through a norm, whose gradient is NaN at 0); the relu's
  // gradient at the support boundary 1 - a d2 = 0 is 0.
  return (1 - a_ * squared_distances_direct(x, y)).relu();
}

at::Tensor FiniteSupportKernel::diag(const at::Tensor& x) const { return (x * 0).sum(1) + 1; }

std::string FiniteSupportKernel::name() const { return detail::make_spec("finite", {{"a", detail::format_real(a_)}}); }

detail::KernelEntry detail::finite_entry() {
  return {"finite", "max(0, 1 - a ||x - y||^2), not PD", "a=1 (> 0)", [](SpecArgs& a) -> KernelPtr {
            const double scale = a.real("a", 1);
            RKHS_CHECK(scale > 0, "a must be > 0, got " + format_real(scale));
            return std::make_shared<FiniteSupportKernel>(scale);
          }};
}

}  // namespace rkhs::kernels
