#include <gtest/gtest.h>

#include "rkhs/error.h"
#include "rkhs/train/batches.h"
#include "rkhs/train/schedule.h"

using rkhs::train::lr_at;
using rkhs::train::TrainOptions;

TEST(Schedule, ConstantWithWarmup) {
  TrainOptions o;
  o.lr = 2.0;
  o.epochs = 10;
  o.schedule = "constant";
  o.warmup_epochs = 2;  // W = 20 iterations with 10 per epoch
  EXPECT_DOUBLE_EQ(lr_at(o, 0, 10), 0.2);
  EXPECT_DOUBLE_EQ(lr_at(o, 10, 10), 2.0 * (0.1 + 0.9 * 0.5));
  EXPECT_DOUBLE_EQ(lr_at(o, 19, 10), 2.0 * (0.1 + 0.9 * 19.0 / 20.0));
  EXPECT_DOUBLE_EQ(lr_at(o, 20, 10), 2.0);
  EXPECT_DOUBLE_EQ(lr_at(o, 99, 10), 2.0);
}

TEST(Schedule, CosineEndpoints) {
  TrainOptions o;
  o.lr = 1.0;
  o.epochs = 10;
  o.schedule = "cosine";
  EXPECT_DOUBLE_EQ(lr_at(o, 0, 10), 1.0);
  EXPECT_NEAR(lr_at(o, 50, 10), 0.5, 1e-12);
  EXPECT_NEAR(lr_at(o, 100, 10), 0.0, 1e-12);
  EXPECT_GT(lr_at(o, 99, 10), 0.0);
  EXPECT_LT(lr_at(o, 99, 10), 1e-3);
  // With warm-up, the cosine starts at lr after W iterations and halves at the middle of the rest.
  o.warmup_epochs = 2;
  EXPECT_DOUBLE_EQ(lr_at(o, 0, 10), 0.1);
  EXPECT_DOUBLE_EQ(lr_at(o, 20, 10), 1.0);
  EXPECT_NEAR(lr_at(o, 60, 10), 0.5, 1e-12);
  EXPECT_NEAR(lr_at(o, 100, 10), 0.0, 1e-12);
  for (int t = 1; t < 100; ++t) {
    if (t <= 20) EXPECT_GT(lr_at(o, t, 10), lr_at(o, t - 1, 10)) << t;
    else EXPECT_LT(lr_at(o, t, 10), lr_at(o, t - 1, 10)) << t;
  }
}

TEST(Schedule, StepDrops) {
  TrainOptions o;
  o.lr = 1.0;
  o.epochs = 10;
  o.schedule = "step";
  o.step_size = 3;
  o.step_gamma = 0.1;
  EXPECT_DOUBLE_EQ(lr_at(o, 0, 5), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(o, 14, 5), 1.0);   // epoch index 2
  EXPECT_DOUBLE_EQ(lr_at(o, 15, 5), 0.1);   // epoch index 3
  EXPECT_DOUBLE_EQ(lr_at(o, 29, 5), 0.1);
  EXPECT_NEAR(lr_at(o, 30, 5), 0.01, 1e-15);
  EXPECT_NEAR(lr_at(o, 49, 5), 0.001, 1e-15);
  o.warmup_epochs = 1;
  EXPECT_DOUBLE_EQ(lr_at(o, 0, 5), 0.1);
  EXPECT_DOUBLE_EQ(lr_at(o, 5, 5), 1.0);
}

TEST(Schedule, Errors) {
  TrainOptions o;
  o.schedule = "linear-ish";
  EXPECT_THROW(lr_at(o, 0, 10), rkhs::Error);
  o.schedule = "cosine";
  EXPECT_THROW(lr_at(o, 0, 0), rkhs::Error);
  o.schedule = "step";
  o.step_size = 0;
  EXPECT_THROW(lr_at(o, 0, 10), rkhs::Error);
}

TEST(Batches, PermutationDependsOnlyOnSeedAndEpoch) {
  auto a = rkhs::train::epoch_permutation(100, 7, 3);
  auto b = rkhs::train::epoch_permutation(100, 7, 3);
  auto c = rkhs::train::epoch_permutation(100, 7, 4);
  auto d = rkhs::train::epoch_permutation(100, 8, 3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
}
