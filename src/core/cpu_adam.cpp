// Compiled with -fno-math-errno (CMakeLists.txt), so that the loop's sqrt vectorises.
#include "rkhs/core/cpu_adam.h"

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::core {

bool CpuAdam::supports(const std::vector<at::Tensor>& parameters) {
  for (const auto& p : parameters)
    if (!p.device().is_cpu() || p.scalar_type() != at::kFloat || !p.is_contiguous()) return false;
  return true;
}

CpuAdam::CpuAdam(std::vector<at::Tensor> parameters, double lr, double beta1, double beta2, double eps)
    : params_(std::move(parameters)), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
  RKHS_CHECK(supports(params_), "CpuAdam: every parameter must be a contiguous float tensor on the CPU");
  RKHS_CHECK(lr > 0 && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0,
             "CpuAdam: lr and eps must be > 0 and the betas in [0, 1)");
  for (const auto& p : params_) {
    m_.emplace_back(p.numel(), 0.0f);
    v_.emplace_back(p.numel(), 0.0f);
  }
}

void CpuAdam::step() {
  ++t_;
  const double bc1 = 1 - std::pow(beta1_, double(t_)), bc2 = 1 - std::pow(beta2_, double(t_));
  const float b1 = float(beta1_), b2 = float(beta2_), a1 = float(1 - beta1_), a2 = float(1 - beta2_);
  const float step = float(lr_ / bc1), inv_sqrt_bc2 = float(1 / std::sqrt(bc2)), eps = float(eps_);
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const auto& grad = p.grad();
    if (!grad.defined()) continue;
    RKHS_CHECK(grad.scalar_type() == at::kFloat && grad.device().is_cpu() && grad.numel() == p.numel(),
               "CpuAdam: a gradient is not a float CPU tensor of its parameter's size");
    const auto g = grad.contiguous();
    const float* gp = g.data_ptr<float>();
    float* w = p.data_ptr<float>();
    float *m = m_[i].data(), *v = v_[i].data();
    for (int64_t j = 0, n = p.numel(); j < n; ++j) {
      m[j] = b1 * m[j] + a1 * gp[j];
      v[j] = b2 * v[j] + a2 * gp[j] * gp[j];
      w[j] -= step * m[j] / (std::sqrt(v[j]) * inv_sqrt_bc2 + eps);
    }
  }
}

}  // namespace rkhs::core
