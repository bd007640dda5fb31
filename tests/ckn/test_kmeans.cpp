// Spherical k-means recovers separable clusters and re-seeds empty ones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/ckn/kmeans.h"
#include "rkhs/error.h"

using rkhs::ckn::spherical_kmeans;

TEST(SphericalKMeans, RecoversSeparableClusters) {
  torch::manual_seed(1);
  const int64_t k = 5, d = 8, per = 200;
  auto dirs = torch::randn({k, d});
  dirs = dirs / dirs.norm(2, 1, true);
  auto labels = torch::arange(k).repeat_interleave(per);
  auto x = dirs.index({labels}) + 0.05 * torch::randn({k * per, d});
  x = x / x.norm(2, 1, true);
  auto r = spherical_kmeans(x, k, 100, 7);
  ASSERT_EQ(r.centres.sizes(), (std::vector<int64_t>{k, d}));
  EXPECT_TRUE(torch::allclose(r.centres.norm(2, 1), torch::ones({k}), 1e-5, 1e-5));
  // Every true direction has a centre within cosine 0.99, and clusters are pure.
  auto cos = dirs.mm(r.centres.t());
  EXPECT_GT(std::get<0>(cos.max(1)).min().item<double>(), 0.99);
  auto match = std::get<1>(cos.max(1));  // true cluster -> centre
  EXPECT_TRUE(r.assignment.equal(match.index({labels})));
  EXPECT_GT(r.mean_cosine, 0.95);
  EXPECT_LT(r.iterations, 100);
}

TEST(SphericalKMeans, ReseedsEmptyClusters) {
  // Three distinct points, each repeated many times, and one row far from all: with k = 4 some starts coincide,
  // so clusters go empty and get re-seeded until every distinct point is a centre.
  auto base = torch::eye(4);
  auto x = torch::cat({base[0].repeat({50, 1}), base[1].repeat({50, 1}), base[2].repeat({50, 1}), base[3].unsqueeze(0)});
  int total_reseeded = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    auto r = spherical_kmeans(x, 4, 50, seed);
    auto best = std::get<0>(base.mm(r.centres.t()).max(1));
    EXPECT_TRUE(torch::allclose(best, torch::ones({4}))) << "seed " << seed;
    EXPECT_NEAR(r.mean_cosine, 1.0, 1e-6);
    total_reseeded += r.reseeded;
  }
  EXPECT_GT(total_reseeded, 0);
}

TEST(SphericalKMeans, IsDeterministicAndRejectsBadInput) {
  torch::manual_seed(2);
  auto x = torch::randn({100, 3});
  x = x / x.norm(2, 1, true);
  EXPECT_TRUE(spherical_kmeans(x, 4, 20, 3).centres.equal(spherical_kmeans(x, 4, 20, 3).centres));
  EXPECT_THROW(spherical_kmeans(x, 101, 10, 0), rkhs::Error);
  EXPECT_THROW(spherical_kmeans(x, 0, 10, 0), rkhs::Error);
  x[0][0] = NAN;
  EXPECT_THROW(spherical_kmeans(x, 2, 10, 0), rkhs::Error);
}
