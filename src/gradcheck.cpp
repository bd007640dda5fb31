#include "rkhs/gradcheck.h"

#include <torch/torch.h>

#include <sstream>

#include "rkhs/error.h"

namespace rkhs {

GradcheckResult gradcheck(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
                          const std::vector<at::Tensor>& inputs, double eps, double atol, double rtol) {
  for (const auto& x : inputs) {
    RKHS_CHECK(x.scalar_type() == torch::kFloat64, "gradcheck: inputs must be float64");
    RKHS_CHECK(x.requires_grad(), "gradcheck: inputs must require grad");
  }
  GradcheckResult result;
  auto out0 = f(inputs);
  auto gen_state = torch::randn(out0.sizes(), torch::TensorOptions().dtype(torch::kFloat64));
  const auto w = gen_state;
  auto scalar = [&](const std::vector<at::Tensor>& in) { return (f(in) * w).sum(); };

  auto analytic = torch::autograd::grad({scalar(inputs)}, inputs, {}, /*retain_graph=*/false,
                                        /*create_graph=*/false, /*allow_unused=*/true);
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < inputs.size(); ++k) {
    auto flat = inputs[k].view({-1});
    auto a = analytic[k].defined() ? analytic[k].reshape({-1}) : torch::zeros_like(flat);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double orig = flat[i].item<double>();
      flat[i].fill_(orig + eps);
      const double up = scalar(inputs).item<double>();
      flat[i].fill_(orig - eps);
      const double down = scalar(inputs).item<double>();
      flat[i].fill_(orig);
      const double numeric = (up - down) / (2 * eps);
      const double an = a[i].item<double>();
      const double err = std::abs(an - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (!(err <= atol + rtol * std::abs(numeric)) && result.ok) {
        result.ok = false;
        std::ostringstream os;
        os << "input " << k << " entry " << i << ": analytic " << an << " vs numeric " << numeric;
        result.message = os.str();
      }
    }
  }
  return result;
}

}  // namespace rkhs
