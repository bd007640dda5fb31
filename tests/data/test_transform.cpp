// Standardizer (training statistics only), stratified split and class-balanced subsets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/data/transform.h"
#include "rkhs/error.h"

using namespace rkhs::data;

namespace {
// counts[c] samples of class c, x = the sample's index (so subsets can be traced back), interleaved classes.
Dataset labelled(const std::vector<int64_t>& counts) {
  std::vector<int64_t> y;
  std::vector<int64_t> left = counts;
  bool any = true;
  while (any) {
    any = false;
    for (size_t c = 0; c < left.size(); ++c)
      if (left[c] > 0) y.push_back(static_cast<int64_t>(c)), --left[c], any = true;
  }
  Dataset d;
  d.y = torch::tensor(y, torch::kLong);
  d.x = torch::arange(static_cast<int64_t>(y.size()), torch::kFloat).unsqueeze(1);
  d.num_classes = static_cast<int64_t>(counts.size());
  d.name = "toy";
  return d;
}
at::Tensor counts_of(const Dataset& d) { return torch::bincount(d.y, {}, d.num_classes); }
}  // namespace

TEST(Standardizer, UsesTrainingStatisticsOnly) {
  const at::Tensor train = torch::tensor({1.0f, 10.0f, 5.0f, 3.0f, 10.0f, 5.0f, 5.0f, 10.0f, 5.0f}).reshape({3, 3});
  const at::Tensor test = torch::tensor({7.0f, 0.0f, 6.0f}).reshape({1, 3});
  Standardizer s = Standardizer::fit(train);
  // Column 0: mean 3, population std sqrt(8/3); columns 1, 2 constant -> std 1.
  EXPECT_FLOAT_EQ(s.mean[0].item<float>(), 3.0f);
  EXPECT_FLOAT_EQ(s.std[0].item<float>(), std::sqrt(8.0f / 3));
  EXPECT_FLOAT_EQ(s.std[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(s.std[2].item<float>(), 1.0f);
  const at::Tensor z = s.apply(test);
  EXPECT_FLOAT_EQ(z[0][0].item<float>(), (7.0f - 3.0f) / std::sqrt(8.0f / 3));
  EXPECT_FLOAT_EQ(z[0][1].item<float>(), -10.0f);
  EXPECT_FLOAT_EQ(z[0][2].item<float>(), 1.0f);
  // On the training data: mean 0, std 1 for non-constant features.
  const at::Tensor zt = s.apply(train);
  EXPECT_NEAR(zt.select(1, 0).mean().item<float>(), 0.0f, 1e-6f);
  EXPECT_NEAR(zt.select(1, 0).pow(2).mean().item<float>(), 1.0f, 1e-5f);
  // Images: per pixel statistics, shape (C, H, W).
  at::Generator g = at::detail::createCPUGenerator(1);
  const at::Tensor img = torch::rand({10, 1, 4, 4}, g);
  Standardizer si = Standardizer::fit(img);
  EXPECT_EQ(si.mean.sizes(), (std::vector<int64_t>{1, 4, 4}));
  EXPECT_EQ(si.apply(img).sizes(), img.sizes());
  EXPECT_THROW(si.apply(train), rkhs::Error);
}

TEST(StratifiedSplit, KeepsProportionsAndIsDeterministic) {
  Dataset d = labelled({100, 50, 10, 2, 1});
  auto [a, b] = stratified_split(d, 0.2, 3);
  EXPECT_TRUE(torch::equal(counts_of(b), torch::tensor({20, 10, 2, 1, 0}, torch::kLong)));
  EXPECT_TRUE(torch::equal(counts_of(a), torch::tensor({80, 40, 8, 1, 1}, torch::kLong)));
  EXPECT_EQ(a.num_classes, 5);
  EXPECT_EQ(b.name, "toy");
  // Disjoint, together everything, original order kept.
  const at::Tensor all = torch::cat({a.x, b.x}).squeeze(1);
  EXPECT_TRUE(torch::equal(std::get<0>(all.sort()), torch::arange(d.size(), torch::kFloat)));
  EXPECT_TRUE(torch::equal(std::get<0>(a.x.squeeze(1).sort()), a.x.squeeze(1)));
  // Labels travel with their samples.
  EXPECT_TRUE(torch::equal(d.y.index_select(0, b.x.squeeze(1).to(torch::kLong)), b.y));
  auto [a2, b2] = stratified_split(d, 0.2, 3);
  auto [a3, b3] = stratified_split(d, 0.2, 4);
  EXPECT_TRUE(torch::equal(b.x, b2.x));
  EXPECT_FALSE(torch::equal(b.x, b3.x));
  EXPECT_THROW(stratified_split(d, 1.5, 0), rkhs::Error);
  auto [all_first, none] = stratified_split(d, 0.0, 0);
  EXPECT_EQ(all_first.size(), d.size());
  EXPECT_EQ(none.size(), 0);
}

TEST(TakeStratified, ClassBalancedSubset) {
  Dataset d = labelled({100, 50, 3});
  Dataset s = take_stratified(d, 9, 1);
  EXPECT_TRUE(torch::equal(counts_of(s), torch::tensor({3, 3, 3}, torch::kLong)));
  Dataset t = take_stratified(d, 60, 1);  // class 2 has only 3: the other two share the rest
  EXPECT_TRUE(torch::equal(counts_of(t), torch::tensor({29, 28, 3}, torch::kLong)));
  Dataset u = take_stratified(d, 8, 1);  // remainder to the lowest classes
  EXPECT_TRUE(torch::equal(counts_of(u), torch::tensor({3, 3, 2}, torch::kLong)));
  Dataset e = take_stratified(labelled({40, 40}), 21, 1);
  EXPECT_TRUE(torch::equal(counts_of(e), torch::tensor({11, 10}, torch::kLong)));
  EXPECT_TRUE(torch::equal(take_stratified(d, 9, 1).x, s.x));
  EXPECT_FALSE(torch::equal(take_stratified(d, 9, 2).x, s.x));
  EXPECT_EQ(take_stratified(d, d.size(), 0).size(), d.size());
  EXPECT_THROW(take_stratified(d, d.size() + 1, 0), rkhs::Error);
}
