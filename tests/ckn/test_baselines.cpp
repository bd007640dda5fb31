// The baselines' Nystrom RBF features and the median-heuristic bandwidth.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "rkhs/ckn/baselines.h"
#include "rkhs/error.h"

using namespace rkhs::ckn;

TEST(NystromFeatures, ReproduceTheKernelOnTheLandmarksAndApproximateItElsewhere) {
  torch::manual_seed(1);
  auto z = torch::randn({30, 3}, torch::kFloat64);
  NystromFeatures phi("rbf:gamma=0.5", z, 1e-6);
  auto kzz = (-0.5 * torch::cdist(z, z).square()).exp();
  auto f = phi(z, 7);  // several batches
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{30, 30}));
  // On the landmarks phi phi^T = K L L K = K (K^{-1/2})^2 K = K up to the regularisation.
  EXPECT_TRUE(torch::allclose(f.mm(f.t()), kzz, 1e-4, 1e-4)) << (f.mm(f.t()) - kzz).abs().max().item<double>();
  // Elsewhere: phi(x) phi(x')^T is the Nystrom approximation K_xZ K_ZZ^{-1} K_Zx', here by a linear solve.
  auto x = torch::randn({10, 3}, torch::kFloat64);
  auto kxz = (-0.5 * torch::cdist(x, z).square()).exp();
  auto nystrom = kxz.mm(at::linalg_solve(kzz + 1e-9 * torch::eye(30, torch::kFloat64), kxz.t()));
  auto g = phi(x);
  EXPECT_TRUE(torch::allclose(g.mm(g.t()), nystrom, 1e-3, 1e-3)) << (g.mm(g.t()) - nystrom).abs().max().item<double>();
  EXPECT_THROW(phi(torch::randn({2, 4}, torch::kFloat64)), rkhs::Error);
}

TEST(MedianHeuristic, IsOneOverTheMedianSquaredDistance) {
  auto x = torch::tensor({0.0, 1.0, 3.0, 7.0}, torch::kFloat64).unsqueeze(1);
  // Squared distances: 1, 9, 49, 4, 36, 16 -> sorted 1 4 9 16 36 49; torch's median of an even count is the
  // lower middle value, 9.
  EXPECT_NEAR(median_heuristic_gamma(x, 0), 1.0 / 9.0, 1e-12);
  EXPECT_THROW(median_heuristic_gamma(torch::ones({3, 2}), 0), rkhs::Error);
}
