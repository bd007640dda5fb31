// Synthetic sets: shapes, determinism, balance; the projected-normal density and the exact Bayes rate of the
// S^2 mixture (paper 000, appendix B).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>

#include "rkhs/data/synthetic.h"
#include "rkhs/error.h"

using namespace rkhs::data;

namespace {
constexpr double kPi = 3.14159265358979323846;

// A torch generator of the test's own, so nothing depends on the global seed.
at::Generator gen(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// Direct numerical radial integral q(u) = int_0^inf r^2 N(r u; c, s^2 I_3) dr (Simpson), for checking the
// closed form.
double q_numeric(const double u[3], const double c[3], double var) {
  double t = 0, cc = 0;
  for (int j = 0; j < 3; ++j) t += u[j] * c[j], cc += c[j] * c[j];
  const double s = std::sqrt(var);
  const double hi = std::max(t, 0.0) + 20 * s;
  const int n = 200000;
  const double h = hi / n;
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    const double r = i * h;
    const double d2 = r * r - 2 * r * t + cc;  // |r u - c|^2
    const double f = r * r * std::exp(-d2 / (2 * var));
    sum += f * (i == 0 || i == n ? 1 : (i % 2 ? 4 : 2));
  }
  return sum * h / 3 * std::pow(2 * kPi * var, -1.5);
}

at::Tensor row(double a, double b, double c) { return torch::tensor({a, b, c}, torch::kDouble).reshape({1, 3}); }
}  // namespace

TEST(SphereMixture, DrawIsDeterministic) {
  SphereMixture a = SphereMixture::draw(7), b = SphereMixture::draw(7), c = SphereMixture::draw(8);
  ASSERT_EQ(a.centers.sizes(), (std::vector<int64_t>{2, 10, 3}));
  EXPECT_EQ(a.centers.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(a.centers, b.centers));
  EXPECT_FALSE(torch::equal(a.centers, c.centers));
  EXPECT_DOUBLE_EQ(a.variance, 0.02);
}

TEST(SphereMixture, SampleShapeNormBalanceDeterminism) {
  SphereMixture m = SphereMixture::draw(0);
  Dataset d = m.sample(500, 1);
  ASSERT_EQ(d.x.sizes(), (std::vector<int64_t>{1000, 3}));
  EXPECT_EQ(d.x.scalar_type(), torch::kFloat);
  EXPECT_EQ(d.y.scalar_type(), torch::kLong);
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.name, "sphere");
  EXPECT_LT((d.x.norm(2, 1) - 1).abs().max().item<float>(), 1e-6f);
  EXPECT_TRUE(torch::equal(torch::bincount(d.y), torch::tensor({500, 500}, torch::kLong)));
  Dataset e = m.sample(500, 1), f = m.sample(500, 2);
  EXPECT_TRUE(torch::equal(d.x, e.x) && torch::equal(d.y, e.y));
  EXPECT_FALSE(torch::equal(d.x, f.x));
  // Shuffled: the first 500 are not all one class.
  EXPECT_GT(d.y.slice(0, 0, 500).sum().item<int64_t>(), 100);
  // Points of class 0 lie mostly near (1,0,0)'s side and class 1 near (0,1,0)'s.
  const at::Tensor x0 = d.x.index({d.y == 0}), x1 = d.x.index({d.y == 1});
  EXPECT_GT(x0.select(1, 0).mean().item<float>(), x1.select(1, 0).mean().item<float>());
  EXPECT_GT(x1.select(1, 1).mean().item<float>(), x0.select(1, 1).mean().item<float>());
}

TEST(Quadrature, GaussLegendreExactForPolynomials) {
  auto [x, w] = gauss_legendre(5);
  EXPECT_NEAR(w.sum().item<double>(), 2.0, 1e-14);
  EXPECT_NEAR(x[4].item<double>(), 0.9061798459386640, 1e-14);
  EXPECT_NEAR(w[4].item<double>(), 0.2369268850561891, 1e-14);
  for (int k = 0; k <= 9; ++k) {  // exact up to degree 2n-1
    const double exact = (k % 2) ? 0.0 : 2.0 / (k + 1);
    EXPECT_NEAR((w * x.pow(k)).sum().item<double>(), exact, 1e-14) << k;
  }
  auto [x4, w4] = gauss_legendre(400);
  EXPECT_NEAR(w4.sum().item<double>(), 2.0, 1e-12);
  EXPECT_NEAR((w4 * x4.pow(40)).sum().item<double>(), 2.0 / 41, 1e-12);
  auto [pts, sw] = sphere_quadrature(20, 40);
  EXPECT_NEAR(sw.sum().item<double>(), 4 * kPi, 1e-12);
  EXPECT_LT((pts.norm(2, 1) - 1).abs().max().item<double>(), 1e-14);
  // int x^2 dsigma = 4 pi / 3.
  EXPECT_NEAR((sw * pts.select(1, 0).pow(2)).sum().item<double>(), 4 * kPi / 3, 1e-12);
}

TEST(ProjectedNormal, ClosedFormMatchesRadialIntegral) {
  const double var = 0.02;
  const double cs[][3] = {{1, 0, 0}, {0.5, 0.5, -0.2}, {0.02, -0.01, 0.03}, {1.5, 0, 0}, {0, 0, 2.5}};
  const double us[][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0.6, 0.8, 0}, {0, 0.6, -0.8}, {0, 0, 1}};
  for (const auto& c : cs) {
    for (const auto& u : us) {
      const double num = q_numeric(u, c, var);
      const double lq = projected_normal_log_density(row(u[0], u[1], u[2]), row(c[0], c[1], c[2]), var).item<double>();
      if (num > 1e-280) {
        EXPECT_NEAR(lq, std::log(num), 1e-7) << "c=" << c[0] << "," << c[1] << "," << c[2];
      }
      EXPECT_TRUE(std::isfinite(lq));
    }
  }
  // A centre at the origin gives the uniform density 1/(4 pi).
  EXPECT_NEAR(projected_normal_log_density(row(0, 0, 1), row(0, 0, 0), var).item<double>(), -std::log(4 * kPi), 1e-12);
  // Far on the other side (a = t/s = -60) the log density stays finite and matches h(x) ~ 2/x^3.
  const double lq = projected_normal_log_density(row(-1, 0, 0), row(60 * std::sqrt(var), 0, 0), var).item<double>();
  const double expect = -1.5 * std::log(2 * kPi) - 3600.0 / 2 + std::log(2.0 / (60.0 * 60 * 60) * (1 - 6.0 / 3600));
  EXPECT_NEAR(lq, expect, 1e-5);
}

TEST(ProjectedNormal, IntegratesToOneOverTheSphere) {
  auto [pts, w] = sphere_quadrature(400, 800);
  const at::Tensor cs = torch::tensor({1.0, 0.0, 0.0, 0.02, -0.01, 0.03, 0.3, -1.2, 0.8, 0.0, 0.0, 2.5, 0.0, 0.0, -1.0,
                                       0.1, 0.2, 0.05},
                                      torch::kDouble)
                            .reshape({6, 3});
  const at::Tensor q = torch::exp(projected_normal_log_density(pts, cs, 0.02));  // (N, 6)
  const at::Tensor total = (q * w.unsqueeze(1)).sum(0);
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(total[k].item<double>(), 1.0, 1e-6) << "centre " << k;
}

TEST(ProjectedNormal, MatchesMonteCarloHistogram) {
  const double var = 0.02;
  const at::Tensor c = torch::tensor({0.6, -0.3, 0.9}, torch::kDouble);
  const int64_t n = 200000;
  at::Generator g = gen(11);
  const at::Tensor x = c + std::sqrt(var) * torch::randn({n, 3}, g, torch::TensorOptions().dtype(torch::kDouble));
  const at::Tensor u = x / x.norm(2, 1, true);
  const at::Tensor chat = c / c.norm();
  const at::Tensor theta = torch::acos((u.matmul(chat)).clamp(-1, 1));  // angle to the centre's direction
  // A unit vector orthogonal to chat, for building points at a given angle.
  at::Tensor e = torch::tensor({0.0, 0.0, 1.0}, torch::kDouble);
  e = e - e.dot(chat) * chat;
  e = e / e.norm();
  auto [gx, gw] = gauss_legendre(24);
  const double width = 0.04;
  for (int b = 0; b < 12; ++b) {
    const double lo = b * width, hi = lo + width;
    const at::Tensor th = lo + (gx + 1) * (width / 2);  // nodes in [lo, hi]
    const at::Tensor pts = torch::cos(th).unsqueeze(1) * chat + torch::sin(th).unsqueeze(1) * e;
    const at::Tensor q = torch::exp(projected_normal_log_density(pts, c.reshape({1, 3}), var)).squeeze(1);
    // Mass of the ring lo <= theta < hi: 2 pi int q(theta) sin(theta) dtheta (q is symmetric about chat).
    const double mass = 2 * kPi * (gw * q * torch::sin(th)).sum().item<double>() * (width / 2);
    const double freq = ((theta >= lo) & (theta < hi)).sum().item<int64_t>() / static_cast<double>(n);
    const double se = std::sqrt(std::max(mass * (1 - mass), 1e-12) / n);
    EXPECT_NEAR(freq, mass, 5 * se + 1e-4) << "bin " << b;
  }
}

TEST(SphereMixture, MixtureDensitiesIntegrateToOne) {
  SphereMixture m = SphereMixture::draw(3);
  auto [pts, w] = sphere_quadrature(400, 800);
  for (int cls = 0; cls < 2; ++cls)
    EXPECT_NEAR((torch::exp(m.log_density(pts, cls)) * w).sum().item<double>(), 1.0, 1e-6);
}

TEST(SphereMixture, BayesAccuracyConvergesAndMatchesMonteCarlo) {
  SphereMixture m = SphereMixture::draw(0);
  const double b400 = m.bayes_accuracy(400);
  const double b800 = m.bayes_accuracy(800);
  std::cout << "Bayes accuracy of SphereMixture::draw(0): " << b400 << " (400 nodes), " << b800 << " (800 nodes)\n";
  RecordProperty("bayes_accuracy_seed0", std::to_string(b800));
  EXPECT_LT(std::fabs(b400 - b800), 1e-5);
  EXPECT_GT(b400, 0.5);
  EXPECT_LT(b400, 1.0);
  // Empirical accuracy of the Bayes rule on 200k fresh points: within 3 standard errors.
  Dataset d = m.sample(100000, 12345);
  const double acc = m.bayes_predict(d.x).eq(d.y).to(torch::kDouble).mean().item<double>();
  const double se = std::sqrt(b800 * (1 - b800) / d.size());
  std::cout << "empirical accuracy of bayes_predict on 200k points: " << acc << " (se " << se << ")\n";
  EXPECT_NEAR(acc, b800, 3 * se);
}

TEST(SphereMixture, BayesRuleIsAtLeastAsGoodAsAnotherDrawsRule) {
  // The Bayes rule of the true centres beats the rule of other centres on the same data.
  SphereMixture m = SphereMixture::draw(5), other = SphereMixture::draw(6);
  Dataset d = m.sample(5000, 9);
  const double own = m.bayes_predict(d.x).eq(d.y).to(torch::kDouble).mean().item<double>();
  const double wrong = other.bayes_predict(d.x).eq(d.y).to(torch::kDouble).mean().item<double>();
  EXPECT_GE(own, wrong);
}

TEST(Moons, ShapeBalanceGeometryDeterminism) {
  Dataset d = make_moons(101, 0.0, 4);
  ASSERT_EQ(d.x.sizes(), (std::vector<int64_t>{101, 2}));
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.name, "moons");
  EXPECT_TRUE(torch::equal(torch::bincount(d.y), torch::tensor({50, 51}, torch::kLong)));
  const at::Tensor x0 = d.x.index({d.y == 0}), x1 = d.x.index({d.y == 1});
  EXPECT_LT((x0.norm(2, 1) - 1).abs().max().item<float>(), 1e-6f);
  EXPECT_GE(x0.select(1, 1).min().item<float>(), -1e-6f);
  EXPECT_LT(((x1 - torch::tensor({1.0f, 0.5f})).norm(2, 1) - 1).abs().max().item<float>(), 1e-6f);
  Dataset a = make_moons(200, 0.1, 4), b = make_moons(200, 0.1, 4), c = make_moons(200, 0.1, 5);
  EXPECT_TRUE(torch::equal(a.x, b.x) && torch::equal(a.y, b.y));
  EXPECT_FALSE(torch::equal(a.x, c.x));
  // Noise has the requested size: residual radius spread about 0.1.
  Dataset big = make_moons(20000, 0.1, 1);
  const at::Tensor r0 = big.x.index({big.y == 0}).norm(2, 1);
  EXPECT_NEAR((r0 - 1).std().item<float>(), 0.1f, 0.01f);
}

TEST(Circles, ShapeBalanceGeometryDeterminism) {
  Dataset d = make_circles(100, 0.0, 0.5, 2);
  ASSERT_EQ(d.x.sizes(), (std::vector<int64_t>{100, 2}));
  EXPECT_EQ(d.name, "circles");
  EXPECT_TRUE(torch::equal(torch::bincount(d.y), torch::tensor({50, 50}, torch::kLong)));
  EXPECT_LT((d.x.index({d.y == 0}).norm(2, 1) - 1).abs().max().item<float>(), 1e-6f);
  EXPECT_LT((d.x.index({d.y == 1}).norm(2, 1) - 0.5).abs().max().item<float>(), 1e-6f);
  Dataset a = make_circles(300, 0.05, 0.5, 3), b = make_circles(300, 0.05, 0.5, 3);
  EXPECT_TRUE(torch::equal(a.x, b.x) && torch::equal(a.y, b.y));
  EXPECT_THROW(make_circles(10, 0.05, 1.5, 0), rkhs::Error);
}

TEST(Uniform, RangeLabelsDeterminism) {
  Dataset d = make_uniform(20000, -2.0, 2.0, 8);
  ASSERT_EQ(d.x.sizes(), (std::vector<int64_t>{20000, 1}));
  EXPECT_EQ(d.num_classes, 1);
  EXPECT_EQ(d.y.sum().item<int64_t>(), 0);
  EXPECT_GE(d.x.min().item<float>(), -2.0f);
  EXPECT_LE(d.x.max().item<float>(), 2.0f);
  EXPECT_NEAR(d.x.mean().item<float>(), 0.0f, 0.05f);
  EXPECT_NEAR(d.x.var().item<float>(), 16.0f / 12, 0.05f);
  EXPECT_TRUE(torch::equal(d.x, make_uniform(20000, -2.0, 2.0, 8).x));
  EXPECT_THROW(make_uniform(5, 1.0, 1.0, 0), rkhs::Error);
}
