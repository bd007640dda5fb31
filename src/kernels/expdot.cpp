// expdot: CKN's kappa, k(x, y) = exp((x^T y - 1) / sigma^2).
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {

ExpDotKernel::ExpDotKernel(double sigma) : sigma_(sigma) {
  RKHS_CHECK(std::isfinite(sigma) && sigma > 0 && std::isfinite(1 / (sigma * sigma)),
             "expdot: sigma must be > 0, got " + detail::format_real(sigma));
}

at::Tensor ExpDotKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("expdot kernel", x, y);
  return ((x.mm(y.t()) - 1) * (1 / (sigma_ * sigma_))).exp();
}

at::Tensor ExpDotKernel::diag(const at::Tensor& x) const {
  return ((x.square().sum(1) - 1) * (1 / (sigma_ * sigma_))).exp();
}

std::string ExpDotKernel::name() const { return detail::make_spec("expdot", {{"sigma", detail::format_real(sigma_)}}); }

detail::KernelEntry detail::expdot_entry() {
  return {"expdot", "exp((x^T y - 1) / sigma^2), for unit vectors", "sigma=0.6 (> 0)", [](SpecArgs& a) -> KernelPtr {
            const double sigma = a.real("sigma", 0.6);
            RKHS_CHECK(sigma > 0, "sigma must be > 0, got " + format_real(sigma));
            return std::make_shared<ExpDotKernel>(sigma);
          }};
}

}  // namespace rkhs::kernels
