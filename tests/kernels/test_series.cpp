#include <gtest/gtest.h>

#include "rkhs/error.h"
#include "rkhs/gradcheck.h"
#include "rkhs/kernels/series.h"

namespace {

// float64 reference of paper eq. 7, term by term with std::pow.
double series_reference(double t, const std::vector<double>& a, double eps) {
  const double top = t >= 1 - eps ? 1 : 0, bottom = t <= -1 + eps ? 1 : 0;
  double k = a[0] * (top + bottom) + a[1] * (top - bottom);
  for (size_t m = 0; m + 2 < a.size(); ++m) k += a[m + 2] * std::pow(t, static_cast<double>(m));
  return k;
}

}  // namespace

TEST(SeriesKernel, MatchesTermByTermFormula) {
  torch::manual_seed(1);
  auto alpha = torch::rand({13}, torch::kFloat64);
  auto t = torch::cat({torch::rand({50}, torch::kFloat64) * 2 - 1,
                       torch::tensor({1.0, -1.0, 1.0 - 1e-7, -1.0 + 1e-7, 0.0}, torch::kFloat64)});
  auto k = rkhs::kernels::series_kernel(t, alpha, 1e-6);
  std::vector<double> a(alpha.data_ptr<double>(), alpha.data_ptr<double>() + 13);
  for (int64_t i = 0; i < t.size(0); ++i)
    EXPECT_NEAR(k[i].item<double>(), series_reference(t[i].item<double>(), a, 1e-6), 1e-12) << "t=" << t[i].item<double>();
}

TEST(SeriesKernel, GradcheckInTAndAlpha) {
  torch::manual_seed(2);
  auto alpha = torch::rand({8}, torch::kFloat64).requires_grad_(true);
  auto t = (torch::rand({4, 3}, torch::kFloat64) * 1.8 - 0.9).requires_grad_(true);
  auto r = rkhs::gradcheck([](const std::vector<at::Tensor>& in) { return rkhs::kernels::series_kernel(in[0], in[1]); },
                           {t, alpha});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(SeriesKernel, RejectsShortAlpha) {
  EXPECT_THROW(rkhs::kernels::series_kernel(torch::zeros({2}), torch::ones({2})), rkhs::Error);
}
