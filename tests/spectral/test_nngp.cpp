// NN-GP kernels of ReLU MLPs: the analytic recursion against a scalar float64 computation and the arc-cosine
// kernel; the Monte Carlo estimate converges to it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/nngp.h"

using namespace rkhs::spectral;

namespace {

// The recursion of nngp.h for one pair, in scalar float64 with std::acos.
double recursion(const std::vector<double>& x, const std::vector<double>& y, const NNGPOptions& o) {
  const double d = double(x.size());
  double xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    xy += x[i] * y[i];
    xx += x[i] * x[i];
    yy += y[i] * y[i];
  }
  double kxy = o.bias_var + o.weight_var * xy / d, kxx = o.bias_var + o.weight_var * xx / d,
         kyy = o.bias_var + o.weight_var * yy / d;
  for (int64_t l = 0; l < o.depth; ++l) {
    const double c = std::max(-1.0, std::min(1.0, kxy / std::sqrt(kxx * kyy)));
    const double t = std::acos(c);
    kxy = o.bias_var + o.weight_var / (2 * M_PI) * std::sqrt(kxx * kyy) * (std::sin(t) + (M_PI - t) * c);
    kxx = o.bias_var + o.weight_var / 2 * kxx;
    kyy = o.bias_var + o.weight_var / 2 * kyy;
  }
  return kxy;
}

double relative(const at::Tensor& a, const at::Tensor& b) { return ((a - b).norm() / b.norm()).item<double>(); }

}  // namespace

TEST(NNGP, AnalyticMatchesAScalarRecursionAndIsPsd) {
  NNGPOptions o;
  o.input_dim = 3;
  o.depth = 3;
  o.bias_var = 0.5;
  torch::manual_seed(1);
  auto x = torch::randn({6, 3}, torch::kFloat64);
  x[2] = x[1];  // equal points: theta = 0 exactly
  auto k = NNGPReluKernel(o).gram(x, x);
  auto a = x.accessor<double, 2>();
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j)
      EXPECT_NEAR(k[i][j].item<double>(),
                  recursion({a[i][0], a[i][1], a[i][2]}, {a[j][0], a[j][1], a[j][2]}, o), 1e-10) << i << "," << j;
  auto e = std::get<0>(at::linalg_eigh(k));
  EXPECT_GT(e.min().item<double>(), -1e-10);
}

TEST(NNGP, OneLayerWithoutBiasIsTheScaledArcCosineKernel) {
  // K_2 = weight_var^2 / (2 d) * arccos_1(x, y) when bias_var = 0 and depth = 1.
  NNGPOptions o;
  o.input_dim = 4;
  o.depth = 1;
  o.bias_var = 0;
  auto x = torch::randn({5, 4}, torch::kFloat64), y = torch::randn({3, 4}, torch::kFloat64);
  auto expected = rkhs::kernels::make_kernel("arccos:order=1")->gram(x, y) * (o.weight_var * o.weight_var / 8.0);
  EXPECT_TRUE(torch::allclose(NNGPReluKernel(o).gram(x, y), expected, 1e-10, 1e-12));
}

TEST(NNGP, MonteCarloConvergesToTheRecursion) {
  torch::manual_seed(2);
  auto x = torch::randn({20, 2}, torch::kFloat64);
  // One hidden layer: exact in expectation at any width.
  NNGPOptions one;
  one.input_dim = 2;
  one.depth = 1;
  one.samples = 40000;
  const double e1 = relative(NNGPMonteCarloKernel(one).gram(x, x), NNGPReluKernel(one).gram(x, x));
  EXPECT_LT(e1, 0.03);
  // Two hidden layers: wide networks approach the infinite-width kernel.
  NNGPOptions two = one;
  two.depth = 2;
  two.width = 256;
  two.samples = 4000;
  const double e2 = relative(NNGPMonteCarloKernel(two).gram(x, x), NNGPReluKernel(two).gram(x, x));
  EXPECT_LT(e2, 0.06);
  // Fewer samples are further off: the estimate converges rather than being close by construction.
  one.samples = 100;
  EXPECT_GT(relative(NNGPMonteCarloKernel(one).gram(x, x), NNGPReluKernel(one).gram(x, x)), e1);
}

TEST(NNGP, RejectsBadInput) {
  NNGPOptions o;
  o.depth = 0;
  EXPECT_THROW(NNGPReluKernel{o}, rkhs::Error);
  NNGPOptions p;
  p.input_dim = 2;
  EXPECT_THROW(NNGPReluKernel(p).gram(torch::randn({2, 3}), torch::randn({2, 3})), rkhs::Error);
}
