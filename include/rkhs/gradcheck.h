#pragma once
// Finite-difference gradient check in float64 (LibTorch's C++ API has no torch.autograd.gradcheck).
// Used by the tests of every custom autograd function and layer; public so that users can check their own.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace rkhs {

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;  // max |analytic - numeric| over all checked entries
  std::string message;       // first failing input/entry, empty when ok
};

// Checks d(sum(w * f(inputs)))/d(inputs) from autograd against central differences, for a fixed random
// weighting w of the output (so every output entry matters). Inputs must be float64 leaf tensors with
// requires_grad set; entries must satisfy |analytic - numeric| <= atol + rtol * |numeric|.
GradcheckResult gradcheck(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
                          const std::vector<at::Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
                          double rtol = 1e-3);

}  // namespace rkhs
