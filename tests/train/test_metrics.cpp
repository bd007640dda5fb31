#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"
#include "rkhs/train/loss.h"
#include "rkhs/train/trainer.h"

using rkhs::train::compute_metrics;

namespace {
// Four 2-class samples with probabilities chosen by hand:
//   A p=(0.75,0.25) y=0 correct conf 0.75   B p=(0.30,0.70) y=0 wrong   conf 0.70
//   C p=(0.90,0.10) y=0 correct conf 0.90   D p=(0.38,0.62) y=1 correct conf 0.62
torch::Tensor probs() { return torch::tensor({0.75, 0.25, 0.30, 0.70, 0.90, 0.10, 0.38, 0.62}, torch::kFloat64).view({4, 2}); }
torch::Tensor labels() { return torch::tensor({0, 0, 0, 1}, torch::kLong); }
}  // namespace

TEST(Metrics, HandComputed) {
  auto logits = probs().log() + 3.0;  // a constant shift leaves the softmax unchanged
  auto m = compute_metrics(logits, labels());
  EXPECT_EQ(m.n, 4);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  const double nll = -(std::log(0.75) + std::log(0.30) + std::log(0.90) + std::log(0.62)) / 4;
  EXPECT_NEAR(m.nll, nll, 1e-12);
  // 15 bins of width 1/15: the confidences 0.75, 0.70, 0.90, 0.62 fall into bins 12, 11, 14, 10 (each alone):
  // ECE = (|1 - 0.75| + |0 - 0.70| + |1 - 0.90| + |1 - 0.62|) / 4 = 1.43 / 4.
  EXPECT_NEAR(m.ece, 1.43 / 4, 1e-12);
  // 2 bins: all four are in (0.5, 1]: |3/4 - (0.75 + 0.70 + 0.90 + 0.62) / 4| = |0.75 - 0.7425| = 0.0075.
  EXPECT_NEAR(compute_metrics(logits, labels(), 2).ece, 0.0075, 1e-12);
  // 1 bin: the same single bin.
  EXPECT_NEAR(compute_metrics(logits.to(torch::kFloat32), labels(), 1).ece, 0.0075, 1e-6);
}

TEST(Metrics, PerfectAndEmpty) {
  auto logits = torch::tensor({100.0, 0.0, 0.0, 100.0}).view({2, 2});
  auto m = compute_metrics(logits, torch::tensor({0, 1}, torch::kLong));
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_NEAR(m.nll, 0.0, 1e-12);
  EXPECT_NEAR(m.ece, 0.0, 1e-12);
  EXPECT_EQ(compute_metrics(torch::zeros({0, 3}), torch::zeros({0}, torch::kLong)).n, 0);
  EXPECT_THROW(compute_metrics(torch::zeros({3}), torch::zeros({3}, torch::kLong)), rkhs::Error);
  EXPECT_THROW(compute_metrics(torch::zeros({3, 2}), torch::zeros({2}, torch::kLong)), rkhs::Error);
}

TEST(Loss, DistillationHandComputed) {
  // Teacher (log 3, 0) at T = 1: p = (0.75, 0.25); student (0, 0): log q = (log 0.5, log 0.5).
  auto s = torch::zeros({1, 2});
  auto t = torch::tensor({std::log(3.0), 0.0}, torch::kFloat32).view({1, 2});
  EXPECT_NEAR(rkhs::train::distillation_loss(s, t, 1.0).item<double>(), std::log(2.0), 1e-6);
  // At T = 2 the teacher is (log 3 / 2, 0) -> p0 = sqrt3 / (sqrt3 + 1); the student is still uniform: T^2 log 2.
  EXPECT_NEAR(rkhs::train::distillation_loss(s, t, 2.0).item<double>(), 4 * std::log(2.0), 1e-5);
  // Mixing: weight 0 is the hard cross-entropy, weight 0.5 the average.
  auto y = torch::tensor({1}, torch::kLong);
  auto hard = rkhs::train::training_loss(s, y, at::Tensor(), 1.0, 0.0).item<double>();
  EXPECT_NEAR(hard, std::log(2.0), 1e-6);
  auto mix = rkhs::train::training_loss(s + torch::tensor({1.0f, 0.0f}), y, t, 1.0, 0.5).item<double>();
  auto soft_only = rkhs::train::distillation_loss(s + torch::tensor({1.0f, 0.0f}), t, 1.0).item<double>();
  auto hard_only = std::log(1 + std::exp(1.0));
  EXPECT_NEAR(mix, 0.5 * soft_only + 0.5 * hard_only, 1e-6);
}

// Diverged logits give a NaN NLL and ECE (the trainer then names the divergence) instead of a failed binning.
TEST(Metrics, NonFiniteLogitsGiveNaN) {
  auto logits = torch::tensor({1.0, std::nan(""), 0.0, 2.0}).view({2, 2});
  const auto m = compute_metrics(logits, torch::tensor({0, 1}, torch::kLong));
  EXPECT_TRUE(std::isnan(m.nll));
  EXPECT_TRUE(std::isnan(m.ece));
  EXPECT_EQ(m.n, 2);
}
