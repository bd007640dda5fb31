// Float64 gradchecks of gram and diag for every kernel; finite (and correct) gradients at zero distance.
#include <gtest/gtest.h>

#include "kernels/kernel_reference.h"
#include "rkhs/gradcheck.h"
#include "rkhs/kernels/distance.h"
#include "rkhs/kernels/kernel.h"

using namespace kernel_test;
using rkhs::kernels::make_kernel;

namespace {

// Inputs away from each kernel's kinks: finite's support boundary, arccos' theta in {0, pi}, series'
// indicator thresholds and laplacian's zero distance.
bool away_from_kinks(const std::string& spec, const torch::Tensor& x, const torch::Tensor& y) {
  auto d2 = rkhs::kernels::squared_distances_direct(x, y);
  auto cos = x.mm(y.t()) / (x.norm(2, 1, true) * y.norm(2, 1, true).t());
  if (spec.rfind("finite", 0) == 0) {
    const double a = spec == "finite:a=2" ? 2 : 1;
    auto margin = (1 - a * d2).abs();
    return margin.min().item<double>() > 1e-2 && (1 - a * d2).max().item<double>() > 0;
  }
  if (spec.rfind("laplacian", 0) == 0) return d2.min().item<double>() > 1e-4;
  return cos.abs().max().item<double>() < 0.99;
}

}  // namespace

TEST(KernelGrad, GradcheckGramAndDiag) {
  torch::manual_seed(31);
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.spec);
    auto k = make_kernel(c.spec);
    torch::Tensor x, y;
    for (int attempt = 0;; ++attempt) {
      ASSERT_LT(attempt, 100) << c.spec << ": no kink-free inputs found";
      x = inputs(4, 3, c.sphere, std::min(0.5, c.scale));
      y = inputs(3, 3, c.sphere, std::min(0.5, c.scale));
      if (away_from_kinks(c.spec, x, y)) break;
    }
    x.requires_grad_(true);
    y.requires_grad_(true);
    auto r = rkhs::gradcheck([&](const std::vector<at::Tensor>& in) { return k->gram(in[0], in[1]); }, {x, y});
    EXPECT_TRUE(r.ok) << c.spec << ": " << r.message;
    auto rd = rkhs::gradcheck([&](const std::vector<at::Tensor>& in) { return k->diag(in[0]); }, {x});
    EXPECT_TRUE(rd.ok) << c.spec << " diag: " << rd.message;
  }
}

TEST(KernelGrad, FiniteGradientsAtZeroDistanceAndZeroRows) {
  torch::manual_seed(32);
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.spec);
    auto k = make_kernel(c.spec);
    auto base = inputs(5, 3, c.sphere, c.scale);
    base[3] = base[1];
    if (!c.sphere) base[4].zero_();
    auto x = base.clone().requires_grad_(true);
    auto w = torch::randn({5, 5}, torch::kFloat64);
    (k->gram(x, x) * w).sum().backward();
    EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>()) << c.spec << "\n" << x.grad();
    // Two leaves with a shared row.
    auto a = base.clone().requires_grad_(true), b = base.slice(0, 0, 2).clone().requires_grad_(true);
    (k->gram(a, b) * w.slice(1, 0, 2)).sum().backward();
    EXPECT_TRUE(torch::isfinite(a.grad()).all().item<bool>()) << c.spec;
    EXPECT_TRUE(torch::isfinite(b.grad()).all().item<bool>()) << c.spec;
    auto z = base.clone().requires_grad_(true);
    k->diag(z).sum().backward();
    EXPECT_TRUE(torch::isfinite(z.grad()).all().item<bool>()) << c.spec;
  }
}

TEST(KernelGrad, GradientAtZeroDistanceHasTheRightValue) {
  // d k(x, y) / dx at y = x (y held fixed): rbf, laplacian (subgradient), finite: 0; arccos order 1: x
  // (k_1 = (||x|| ||y|| sin t + (pi - t) x^T y) / pi, and d(theta-terms)/dx vanishes at x = y).
  // (3, 4, 0) has cosine exactly 1 with itself in floating point (norm 5), where sqrt(1 - c^2) = 0.
  for (auto v : {torch::tensor({{0.3, -0.4, 1.2}}, torch::kFloat64), torch::tensor({{3.0, 4.0, 0.0}}, torch::kFloat64)})
    for (const auto* spec : {"rbf", "laplacian:gamma=2", "finite", "arccos"}) {
      auto x = v.clone().requires_grad_(true);
      make_kernel(spec)->gram(x, v.clone()).sum().backward();
      auto want = std::string(spec) == "arccos" ? v : torch::zeros_like(v);
      EXPECT_TRUE(torch::allclose(x.grad(), want, 1e-12, 1e-12)) << spec << ": " << x.grad();
      // Both arguments the same leaf: d k(x, x) / dx = 0 for the radial kernels, 2x for arccos order 1.
      auto z = v.clone().requires_grad_(true);
      make_kernel(spec)->gram(z, z).sum().backward();
      EXPECT_TRUE(torch::allclose(z.grad(), 2 * want, 1e-12, 1e-12)) << spec << " gram(x, x): " << z.grad();
    }
}

TEST(KernelGrad, DirectSquaredDistancesDoubleBackward) {
  // The custom backward of squared_distances_direct is differentiable: gradcheck the gradient itself.
  torch::manual_seed(33);
  auto x = torch::randn({4, 3}, torch::kFloat64).requires_grad_(true);
  auto y = torch::randn({3, 3}, torch::kFloat64).requires_grad_(true);
  auto w = torch::randn({4, 3}, torch::kFloat64);
  auto first = rkhs::gradcheck(
      [](const std::vector<at::Tensor>& in) { return rkhs::kernels::squared_distances_direct(in[0], in[1]); }, {x, y});
  EXPECT_TRUE(first.ok) << first.message;
  SCOPED_TRACE("second order");
  auto second = rkhs::gradcheck(
      [&](const std::vector<at::Tensor>& in) {
        torch::AutoGradMode grad_on(true);  // gradcheck evaluates f under NoGradGuard for the differences
        auto s = (rkhs::kernels::squared_distances_direct(in[0], in[1]).square() * w).sum();
        auto g = torch::autograd::grad({s}, {in[0], in[1]}, {}, true, true);
        return torch::cat({g[0].reshape({-1}), g[1].reshape({-1})});
      },
      {x, y});
  EXPECT_TRUE(second.ok) << second.message;
}
