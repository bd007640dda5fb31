// Positive semi-definiteness of every kernel flagged PD; concrete counterexamples for tanh and finite.
#include <gtest/gtest.h>

#include "kernels/kernel_reference.h"
#include "rkhs/compat.h"
#include "rkhs/kernels/kernel.h"

using namespace kernel_test;
using rkhs::kernels::make_kernel;

namespace {

// (min, max) eigenvalue of a symmetric float64 matrix.
std::pair<double, double> eig_range(const torch::Tensor& k) {
  auto [e, v] = rkhs::compat::eigh((k + k.t()) / 2);
  return {e.min().item<double>(), e.max().item<double>()};
}

}  // namespace

TEST(KernelPsd, EveryPdKernelHasPsdGramMatrices) {
  torch::manual_seed(21);
  int checked = 0;
  for (const auto& c : cases()) {
    auto k = make_kernel(c.spec);
    if (!k->is_positive_definite()) continue;
    EXPECT_EQ(k->requires_unit_sphere(), c.sphere) << c.spec;
    for (int trial = 0; trial < 3; ++trial) {
      auto x = inputs(40, 3, c.sphere, 1.0);
      auto [lo, hi] = eig_range(k->gram(x, x));
      EXPECT_GT(hi, 0) << c.spec;
      EXPECT_GE(lo, -1e-8 * hi) << c.spec << " trial " << trial;
    }
    ++checked;
  }
  // All but tanh (2 cases), finite (2) and the series cases with tolerance indicators (2).
  EXPECT_EQ(checked, static_cast<int>(cases().size()) - 6);
}

TEST(KernelPsd, PdFlags) {
  for (const auto* spec : {"tanh", "tanh:scale=0.5,offset=-0.2", "finite", "finite:a=2", "polynomial:offset=-1",
                           "polynomial:scale=-1,degree=3"})
    EXPECT_FALSE(make_kernel(spec)->is_positive_definite()) << spec;
  for (const auto* spec : {"series", "series:order=3,eps=0.01,alpha=0.5;0.2;1;0.3;0.1;2", "series:alpha=0;1;1;1"})
    EXPECT_FALSE(make_kernel(spec)->is_positive_definite()) << spec;
  for (const auto* spec : {"polynomial:offset=0", "arccos:order=0", "laplacian", "series:eps=0",
                           "series:alpha=0;0;1;1", "series:alpha=0;0;0"})
    EXPECT_TRUE(make_kernel(spec)->is_positive_definite()) << spec;
}

TEST(KernelPsd, TanhCounterexample) {
  // x = 1, y = 2 in R^1: [[tanh 1, tanh 2], [tanh 2, tanh 4]] has determinant 0.7616 - 0.9293 < 0.
  auto x = torch::tensor({1.0, 2.0}, torch::kFloat64).reshape({2, 1});
  auto [lo, hi] = eig_range(make_kernel("tanh")->gram(x, x));
  EXPECT_LT(lo, -0.05);
  EXPECT_GT(hi, 1.5);
}

TEST(KernelPsd, FiniteSupportCounterexample) {
  // Ten points on a line spaced h = 0.55: neighbours give 1 - h^2 = 0.6975, points two apart are past the
  // support (2h > 1), so K is tridiagonal Toeplitz with eigenvalues 1 + 2 * 0.6975 cos(k pi / 11);
  // the smallest is 1 - 1.395 cos(pi / 11) = -0.338. The same holds for any a with spacing 0.55 / sqrt(a).
  for (double a : {1.0, 4.0}) {
    auto x = (torch::arange(10, torch::kFloat64) * (0.55 / std::sqrt(a))).reshape({10, 1});
    auto k = make_kernel("finite:a=" + std::to_string(a))->gram(x, x);
    auto [lo, hi] = eig_range(k);
    const double pi = std::acos(-1.0);
    EXPECT_NEAR(lo, 1 - 2 * (1 - 0.55 * 0.55) * std::cos(pi / 11), 1e-9) << "a=" << a;
    EXPECT_LT(lo, -0.3);
    // Also in higher dimension: the same points embedded in R^5 (plus zero coordinates).
    auto x5 = torch::cat({x, torch::zeros({10, 4}, torch::kFloat64)}, 1);
    EXPECT_LT(eig_range(make_kernel("finite:a=" + std::to_string(a))->gram(x5, x5)).first, -0.3);
  }
}

TEST(KernelPsd, SeriesToleranceIndicatorCounterexample) {
  // Three unit vectors 0.1 rad apart on a great circle: <u0,u1> = <u1,u2> = cos 0.1 = 0.995 >= 1 - eps but
  // <u0,u2> = cos 0.2 = 0.980 < 1 - eps for eps = 0.01, so the tolerant indicator [t >= 1 - eps] has Gram
  // [[1,1,0],[1,1,1],[0,1,1]], eigenvalue 1 - sqrt(2). With eps = 0 the same points are fine.
  auto angles = torch::tensor({0.0, 0.1, 0.2}, torch::kFloat64);
  auto u = torch::stack({angles.cos(), angles.sin(), torch::zeros({3}, torch::kFloat64)}, 1);
  auto tolerant = make_kernel("series:order=0,eps=0.01,alpha=1;0;0");
  EXPECT_FALSE(tolerant->is_positive_definite());
  EXPECT_NEAR(eig_range(tolerant->gram(u, u)).first, 1 - std::sqrt(2.0), 1e-12);
  // The default coefficients (all 1) with this eps: the indicator terms still break PSD here.
  EXPECT_LT(eig_range(make_kernel("series:order=2,eps=0.01")->gram(u, u)).first, -0.1);
  auto exact = make_kernel("series:order=0,eps=0,alpha=1;0;0");
  EXPECT_TRUE(exact->is_positive_definite());
  EXPECT_GE(eig_range(exact->gram(u, u)).first, -1e-12);
}
