// Shrinking the autoencoder's predictions towards the bias model by the item's number of training ratings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "rkhs/error.h"
#include "rkhs/kernelnet/blend.h"

using namespace rkhs::kernelnet;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
}

TEST(Shrinkage, EndpointsAndFormula) {
  EXPECT_EQ(shrink(4.0, 3.0, 10, 0), 4.0);
  EXPECT_EQ(shrink(4.0, 3.0, 0, 0), 4.0);  // c = 0 is the autoencoder alone, also without training ratings
  EXPECT_EQ(shrink(4.0, 3.0, 10, inf), 3.0);
  EXPECT_DOUBLE_EQ(shrink(4.0, 3.0, 10, 30), 3.0 + 10.0 / 40.0);
  EXPECT_EQ(shrink(4.0, 3.0, 0, 5), 3.0);
}

// The autoencoder is exact on popular items and noisy on rare ones, the bias model the other way round: the
// chosen c lies strictly between the endpoints and beats both on the validation ratings; c = 0 and c = inf give
// the two models' own RMSEs (computed here independently).
TEST(Shrinkage, ChoosesAnInteriorConstantWhenEachModelWinsOnPartOfTheItems) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> n01(0, 1);
  std::vector<double> a, b, n;
  std::vector<float> t;
  for (int k = 0; k < 4000; ++k) {
    const double count = k % 2 ? 1 : 200;
    const double truth = 3 + 0.8 * n01(rng);
    t.push_back(float(truth));
    n.push_back(count);
    a.push_back(truth + (count > 100 ? 0.05 : 1.0) * n01(rng));
    b.push_back(truth + 0.5 * n01(rng));
  }
  auto plain = [&](const std::vector<double>& p) {
    double s = 0;
    for (size_t k = 0; k < p.size(); ++k) {
      const double d = std::clamp(p[k], -100.0, 100.0) - t[k];
      s += d * d;
    }
    return std::sqrt(s / double(p.size()));
  };
  EXPECT_NEAR(shrinkage_rmse(a, b, n, t, 0, -100, 100), plain(a), 1e-9);
  EXPECT_NEAR(shrinkage_rmse(a, b, n, t, inf, -100, 100), plain(b), 1e-9);
  const auto s = choose_shrinkage(a, b, n, t, shrinkage_grid(), -100, 100);
  ASSERT_EQ(s.grid.size(), s.validation_rmse.size());
  EXPECT_GT(s.c, 0);
  EXPECT_TRUE(std::isfinite(s.c));
  const double chosen = shrinkage_rmse(a, b, n, t, s.c, -100, 100);
  EXPECT_LT(chosen, plain(a));
  EXPECT_LT(chosen, plain(b));
  for (double e : s.validation_rmse) EXPECT_GE(e, chosen);
}

TEST(Shrinkage, BadInput) {
  EXPECT_THROW(choose_shrinkage({1}, {1}, {1}, {1.f}, {}, 0, 5), rkhs::Error);
  EXPECT_THROW(choose_shrinkage({1}, {1}, {1}, {1.f}, {-1}, 0, 5), rkhs::Error);
  EXPECT_THROW(shrinkage_rmse({1, 2}, {1}, {1}, {1.f}, 0, 0, 5), rkhs::Error);
  EXPECT_THROW(shrinkage_rmse({}, {}, {}, {}, 0, 0, 5), rkhs::Error);
}
