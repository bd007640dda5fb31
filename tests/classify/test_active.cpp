#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "rkhs/classify/active.h"
#include "rkhs/error.h"

using rkhs::classify::select_subset;

namespace {

void expect_valid(const at::Tensor& idx, const at::Tensor& labelled, int64_t budget, const std::string& method) {
  ASSERT_EQ(idx.scalar_type(), torch::kLong) << method;
  ASSERT_EQ(idx.dim(), 1) << method;
  ASSERT_EQ(idx.size(0), budget) << method;
  std::set<int64_t> seen;
  for (int64_t i = 0; i < budget; ++i) {
    const auto k = idx[i].item<int64_t>();
    ASSERT_TRUE(k >= 0 && k < labelled.size(0)) << method;
    EXPECT_FALSE(labelled[k].item<bool>()) << method << " picked labelled " << k;
    EXPECT_TRUE(seen.insert(k).second) << method << " picked " << k << " twice";
  }
}

}  // namespace

TEST(Active, SizesNoLabelledNoDuplicates) {
  torch::manual_seed(0);
  const int64_t n = 200;
  auto logits = torch::randn({n, 5});
  auto emb = torch::randn({n, 8});
  auto labelled = torch::rand({n}) < 0.3;
  const int64_t unl = n - labelled.sum().item<int64_t>();
  for (const auto& m : rkhs::classify::selection_methods()) {
    for (int64_t budget : {int64_t{0}, int64_t{1}, int64_t{37}, unl}) {
      expect_valid(select_subset(m, logits, emb, labelled, budget, 42), labelled, budget, m);
    }
    // Deterministic for a seed.
    EXPECT_TRUE(torch::equal(select_subset(m, logits, emb, labelled, 20, 7), select_subset(m, logits, emb, labelled, 20, 7)));
    EXPECT_THROW(select_subset(m, logits, emb, labelled, unl + 1, 1), rkhs::Error);
    EXPECT_THROW(select_subset(m, logits, emb, labelled, -1, 1), rkhs::Error);
  }
  // k-center with nothing labelled starts from a random point and still fills the budget.
  auto none = torch::zeros({n}, torch::kBool);
  expect_valid(select_subset("kcenter", {}, emb, none, 50, 3), none, 50, "kcenter-empty");
  expect_valid(select_subset("random", {}, {}, none, n, 3), none, n, "random-all");
  EXPECT_THROW(select_subset("entropy", logits, emb, labelled, 3, 1), rkhs::Error);
  EXPECT_THROW(select_subset("margin", torch::randn({n, 1}), emb, labelled, 3, 1), rkhs::Error);
  EXPECT_THROW(select_subset("kcenter", logits, torch::randn({n - 1, 8}), labelled, 3, 1), rkhs::Error);
}

TEST(Active, MarginPicksAmbiguousPoints) {
  // Rows 1 and 4 are near ties between two classes; row 3 is a tie but labelled; the rest are confident.
  auto logits = torch::tensor({{5.0, 0.0, 0.0},
                               {2.0, 2.01, -1.0},
                               {0.0, 6.0, 0.0},
                               {1.0, 1.0, 0.0},
                               {-3.0, 0.5, 0.5},
                               {0.0, 0.0, 4.0}});
  auto labelled = torch::tensor({false, false, false, true, false, false});
  auto idx = select_subset("margin", logits, {}, labelled, 2, 0);
  EXPECT_EQ(std::set<int64_t>({idx[0].item<int64_t>(), idx[1].item<int64_t>()}), std::set<int64_t>({1, 4}));
  EXPECT_EQ(idx[0].item<int64_t>(), 4);  // exact tie first
}

TEST(Active, KCenterPicksFarOutlierFirst) {
  torch::manual_seed(1);
  // A tight cluster around direction (1, 0, 0), one outlier at (-1, 0, 0.1) and one at (0, 1, 0).
  auto emb = torch::tensor({1.0, 0.0, 0.0}).repeat({20, 1}) + 0.05 * torch::randn({20, 3});
  emb = torch::cat({emb, torch::tensor({{-1.0, 0.0, 0.1}, {0.0, 2.0, 0.0}})});
  auto labelled = torch::zeros({22}, torch::kBool);
  labelled.slice(0, 0, 5).fill_(true);
  auto idx = select_subset("kcenter", {}, emb, labelled, 2, 0);
  EXPECT_EQ(idx[0].item<int64_t>(), 20);  // cosine distance ~2
  EXPECT_EQ(idx[1].item<int64_t>(), 21);  // distance ~1 from both the cluster and the first outlier
}
