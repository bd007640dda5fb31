#include "rkhs/kernels/series.h"

#include <torch/torch.h>

#include "rkhs/error.h"

namespace rkhs::kernels {

at::Tensor series_kernel(const at::Tensor& t, const at::Tensor& alpha, double eps) {
  RKHS_CHECK(alpha.dim() == 1 && alpha.size(0) >= 3,
             "series_kernel: alpha must be (M + 3,) with M >= 0, got " + std::to_string(alpha.numel()) + " entries");
  RKHS_CHECK(eps >= 0 && eps < 1, "series_kernel: indicator eps must be in [0, 1)");
  const int64_t order = alpha.size(0) - 3;
  // Horner: ((a_M t + a_{M-1}) t + ...) t + a_0.
  auto poly = alpha[2 + order].expand_as(t);
  for (int64_t m = order - 1; m >= 0; --m) poly = poly * t + alpha[2 + m];
  at::Tensor top, bottom;
  {
    torch::NoGradGuard no_grad;
    top = (t >= 1.0 - eps).to(t.scalar_type());
    bottom = (t <= -1.0 + eps).to(t.scalar_type());
  }
  return alpha[0] * (top + bottom) + alpha[1] * (top - bottom) + poly;
}

}  // namespace rkhs::kernels
