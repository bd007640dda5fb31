// polynomial: k(x, y) = (scale x^T y + offset)^degree.
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {

PolynomialKernel::PolynomialKernel(int64_t degree, double offset, double scale)
    : degree_(degree), offset_(offset), scale_(scale) {
  RKHS_CHECK(degree >= 1 && degree <= 1000, "polynomial: degree must be an integer in [1, 1000], got " +
                                                std::to_string(degree));
  RKHS_CHECK(std::isfinite(offset) && std::isfinite(scale), "polynomial: offset and scale must be finite");
}

at::Tensor PolynomialKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("polynomial kernel", x, y);
  return (scale_ * x.mm(y.t()) + offset_).pow(degree_);
}

at::Tensor PolynomialKernel::diag(const at::Tensor& x) const {
  return (scale_ * x.square().sum(1) + offset_).pow(degree_);
}

std::string PolynomialKernel::name() const {
  return detail::make_spec("polynomial", {{"degree", std::to_string(degree_)},
                                          {"offset", detail::format_real(offset_)},
                                          {"scale", detail::format_real(scale_)}});
}

detail::KernelEntry detail::polynomial_entry() {
  return {"polynomial", "(scale x^T y + offset)^degree", "degree=3 (integer >= 1), offset=1, scale=1",
          [](SpecArgs& a) -> KernelPtr {
            const long long degree = a.integer("degree", 3);
            RKHS_CHECK(degree >= 1 && degree <= 1000, "degree must be an integer in [1, 1000], got " +
                                                          std::to_string(degree));
            return std::make_shared<PolynomialKernel>(degree, a.real("offset", 1), a.real("scale", 1));
          }};
}

}  // namespace rkhs::kernels
