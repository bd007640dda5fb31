// laplacian: k(x, y) = exp(-gamma ||x - y||_2).
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {

LaplacianKernel::LaplacianKernel(double gamma) : gamma_(gamma) {
  RKHS_CHECK(std::isfinite(gamma) && gamma > 0, "laplacian: gamma must be > 0, got " + detail::format_real(gamma));
}

at::Tensor LaplacianKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("laplacian kernel", x, y);
  // Direct squared distances: the matmul form's rounding error (~1e-16 ||x||^2) would become ~1e-8 after the
  // square root, so k(x, x) would not be exactly 1.
  auto d2 = squared_distances_direct(x, y);
  // sqrt with a zero (sub)gradient at d2 = 0: the masked-out branch never sees sqrt(0).
  auto pos = d2 > 0;
  auto dist = torch::where(pos, torch::where(pos, d2, torch::ones_like(d2)).sqrt(), torch::zeros_like(d2));
  return (dist * (-gamma_)).exp();
}

at::Tensor LaplacianKernel::diag(const at::Tensor& x) const { return (x * 0).sum(1) + 1; }

std::string LaplacianKernel::name() const {
  return detail::make_spec("laplacian", {{"gamma", detail::format_real(gamma_)}});
}

detail::KernelEntry detail::laplacian_entry() {
  return {"laplacian", "exp(-gamma ||x - y||_2)", "gamma=1 (> 0)", [](SpecArgs& a) -> KernelPtr {
            const double gamma = a.real("gamma", 1);
            RKHS_CHECK(gamma > 0, "gamma must be > 0, got " + format_real(gamma));
            return std::make_shared<LaplacianKernel>(gamma);
          }};
}

}  // namespace rkhs::kernels
