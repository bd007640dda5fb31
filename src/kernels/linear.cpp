// linear: k(x, y) = x^T y.
#include <torch/torch.h>

#include "registry.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"

namespace rkhs::kernels {

at::Tensor LinearKernel::gram(const at::Tensor& x, const at::Tensor& y) const {
  check_gram_inputs("linear kernel", x, y);
  return x.mm(y.t());
}

at::Tensor LinearKernel::diag(const at::Tensor& x) const { return x.square().sum(1); }

std::string LinearKernel::name() const { return "linear"; }

detail::KernelEntry detail::linear_entry() {
  return {"linear", "x^T y", "", [](SpecArgs&) -> KernelPtr { return std::make_shared<LinearKernel>(); }};
}

}  // namespace rkhs::kernels
