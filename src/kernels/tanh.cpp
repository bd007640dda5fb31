// tanh (sigmoid kernel): k(x, y) = tanh(scale x^T y + offset); not positive definite.
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {

TanhKernel::TanhKernel(double scale, double offset) : scale_(scale), offset_(offset) {
  RKHS_CHECK(std::isfinite(scale) && std::isfinite(offset), "tanh: scale and offset must be finite");
}

at::Tensor TanhKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("tanh kernel", x, y);
  return (scale_ * x.mm(y.t()) + offset_).tanh();
}

at::Tensor TanhKernel::diag(const at::Tensor& x) const { return (scale_ * x.square().sum(1) + offset_).tanh(); }

std::string TanhKernel::name() const {
  return detail::make_spec("tanh", {{"scale", detail::format_real(scale_)}, {"offset", detail::format_real(offset_)}});
}

detail::KernelEntry detail::tanh_entry() {
  return {"tanh", "tanh(scale x^T y + offset), not PD", "scale=1, offset=0", [](SpecArgs& a) -> KernelPtr {
            return std::make_shared<TanhKernel>(a.real("scale", 1), a.real("offset", 0));
          }};
}

}  // namespace rkhs::kernels
