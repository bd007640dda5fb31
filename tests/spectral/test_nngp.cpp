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
  auto k = NNGPAnalyticKernel(o).gram(x, x);
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
  EXPECT_TRUE(torch::allclose(NNGPAnalyticKernel(o).gram(x, y), expected, 1e-10, 1e-12));
}

TEST(NNGP, MonteCarloConvergesToTheRecursion) {
  torch::manual_seed(2);
  auto x = torch::randn({20, 2}, torch::kFloat64);
  // One hidden layer: exact in expectation at any width.
  NNGPOptions one;
  one.input_dim = 2;
  one.depth = 1;
  one.samples = 40000;
  const double e1 = relative(NNGPMonteCarloKernel(one).gram(x, x), NNGPAnalyticKernel(one).gram(x, x));
  EXPECT_LT(e1, 0.03);
  // Two hidden layers: wide networks approach the infinite-width kernel.
  NNGPOptions two = one;
  two.depth = 2;
  two.width = 256;
  two.samples = 4000;
  const double e2 = relative(NNGPMonteCarloKernel(two).gram(x, x), NNGPAnalyticKernel(two).gram(x, x));
  EXPECT_LT(e2, 0.06);
  // Fewer samples are further off: the estimate converges rather than being close by construction.
  one.samples = 100;
  EXPECT_GT(relative(NNGPMonteCarloKernel(one).gram(x, x), NNGPAnalyticKernel(one).gram(x, x)), e1);
}

// E[erf(u) erf(v)] for (u, v) ~ N(0, [[a, c], [c, b]]) by a tensor-product midpoint rule on a wide grid: an
// independent reference for the erf recursion's one step.
static double erf_expectation(double a, double b, double c) {
  const double su = std::sqrt(a), rho = c / std::sqrt(a * b), sv = std::sqrt(b);
  const int m = 1200;
  const double lo = -9, h = 18.0 / m;
  double total = 0;
  for (int i = 0; i < m; ++i) {
    const double z1 = lo + (i + 0.5) * h, w1 = std::exp(-0.5 * z1 * z1);
    const double u = std::erf(su * z1);
    for (int j = 0; j < m; ++j) {
      const double z2 = lo + (j + 0.5) * h;
      total += w1 * std::exp(-0.5 * z2 * z2) * u * std::erf(sv * (rho * z1 + std::sqrt(1 - rho * rho) * z2));
    }
  }
  return total * h * h / (2 * M_PI);
}

TEST(NNGP, ErfRecursionMatchesGaussianQuadrature) {
  NNGPOptions o;
  o.input_dim = 2;
  o.depth = 1;
  o.activation = "erf";
  o.bias_var = 0.3;
  auto x = torch::tensor({{0.5, -1.0}, {1.5, 0.2}}, torch::kFloat64);
  auto k = NNGPAnalyticKernel(o).gram(x, x);
  auto k1 = o.bias_var + o.weight_var * x.mm(x.t()) / 2.0;  // the first layer's covariance
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      const double a = k1[i][i].item<double>(), b = k1[j][j].item<double>(), c = k1[i][j].item<double>();
      EXPECT_NEAR(k[i][j].item<double>(), o.bias_var + o.weight_var * erf_expectation(a, b, c), 1e-6) << i << "," << j;
    }
}

TEST(NNGP, ErfMonteCarloConvergesToTheRecursion) {
  torch::manual_seed(3);
  auto x = torch::randn({20, 2}, torch::kFloat64);
  NNGPOptions o;
  o.input_dim = 2;
  o.depth = 1;
  o.activation = "erf";
  o.samples = 40000;
  EXPECT_LT(relative(NNGPMonteCarloKernel(o).gram(x, x), NNGPAnalyticKernel(o).gram(x, x)), 0.03);
}

TEST(CNNGP, FeaturesMatchEachNetworkEvaluatedAlone) {
  // The grouped evaluation against each network run on its own with plain float64 convolutions.
  CNNGPOptions o;
  o.channels = 2;
  o.height = 14;
  o.width_px = 13;  // odd: pooling floors
  o.conv = 3;
  o.width = 4;
  o.hidden = 5;
  o.samples = 37;   // more than one group, the last one partial
  o.seed = 5;
  CNNGPMonteCarloKernel kernel(o);
  torch::manual_seed(4);
  auto x = torch::randn({70, 2 * 14 * 13}, torch::kFloat64);  // more than one block of rows
  auto f = kernel.features(x);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{70, 37}));
  auto images = x.reshape({70, 2, 14, 13});
  for (int64_t s : {0, 1, 31, 32, 36}) {
    auto p = kernel.network(s);
    for (auto& t : p) t = t.to(torch::kFloat64);
    auto h = torch::max_pool2d(torch::relu(torch::conv2d(images, p[0], p[1], 1, 1)), 2);  // 14x13 -> 7x6
    h = torch::max_pool2d(torch::relu(torch::conv2d(h, p[2], p[3])), 2);                  // 5x4 -> 2x2
    ASSERT_EQ(h.size(2), 2);
    auto z = torch::relu(torch::addmm(p[5], h.flatten(1), p[4].t()));
    auto g = torch::addmm(p[7], z, p[6].t()).squeeze(1);
    EXPECT_TRUE(torch::allclose(f.select(1, s).to(torch::kFloat64), g, 1e-4, 1e-5)) << "network " << s;
  }
  // The kernel is the feature average, symmetric and positive semi-definite.
  auto k = kernel.gram(x, x);
  EXPECT_TRUE(torch::allclose(k, f.to(torch::kFloat64).mm(f.to(torch::kFloat64).t()) / 37.0, 1e-6, 1e-8));
  EXPECT_GT(std::get<0>(at::linalg_eigh(k)).min().item<double>(), -1e-8);
}

TEST(CNNGP, WeightsFollowTheirPriorAndBadInputIsRejected) {
  CNNGPOptions o;  // 28x28, conv 5, width 16
  o.samples = 200;
  CNNGPMonteCarloKernel kernel(o);
  auto p = kernel.network(7);
  // conv1 has fan-in 25: variance 2 / 25.
  EXPECT_NEAR(p[0].var().item<double>(), 2.0 / 25, 0.03);
  EXPECT_EQ(p[4].size(1), 16 * 5 * 5);  // 28 -> 14 -> 10 -> 5
  EXPECT_THROW(kernel.features(torch::randn({3, 100})), rkhs::Error);
  EXPECT_THROW(kernel.network(200), rkhs::Error);
  CNNGPOptions tiny = o;
  tiny.height = tiny.width_px = 8;  // 8 -> 4 -> 0
  EXPECT_THROW(CNNGPMonteCarloKernel{tiny}, rkhs::Error);
  tiny = o;
  tiny.conv = 4;
  EXPECT_THROW(CNNGPMonteCarloKernel{tiny}, rkhs::Error);
}

TEST(NNGP, RejectsBadInput) {
  NNGPOptions o;
  o.depth = 0;
  EXPECT_THROW(NNGPAnalyticKernel{o}, rkhs::Error);
  NNGPOptions p;
  p.input_dim = 2;
  EXPECT_THROW(NNGPAnalyticKernel(p).gram(torch::randn({2, 3}), torch::randn({2, 3})), rkhs::Error);
  NNGPOptions q;
  q.activation = "tanh";
  EXPECT_THROW(NNGPAnalyticKernel{q}, rkhs::Error);
}
