#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/train/optimizer.h"
#include "rkhs/train/schedule.h"
#include "rkhs/train/trainer.h"
#include "toy.h"

using rkhs::train::Trainer;
using rkhs::train::TrainOptions;

namespace {

using toy::quiet;

double fit_accuracy(TrainOptions o) {
  torch::manual_seed(o.seed);
  auto model = toy::linear_model(2, 2);
  auto data = toy::separable(300, 11);
  Trainer trainer(model, o);
  auto result = trainer.fit(data);
  EXPECT_EQ(result.epochs_run, o.epochs);
  EXPECT_EQ(static_cast<int64_t>(result.history.size()), o.epochs);
  EXPECT_EQ(result.best_epoch, o.epochs);
  // The last record is the model returned (no validation: no restore).
  EXPECT_DOUBLE_EQ(trainer.evaluate(data).accuracy, result.history.back().train.accuracy);
  return result.history.back().train.accuracy;
}

}  // namespace

TEST(Fit, Sgd) { EXPECT_GT(fit_accuracy(quiet("sgd", 0.5, 10)), 0.95); }
TEST(Fit, Momentum) { EXPECT_GT(fit_accuracy(quiet("momentum", 0.1, 10)), 0.95); }
TEST(Fit, Adam) { EXPECT_GT(fit_accuracy(quiet("adam", 0.05, 10)), 0.95); }
TEST(Fit, AdamW) { EXPECT_GT(fit_accuracy(quiet("adamw", 0.05, 10)), 0.95); }
TEST(Fit, Lbfgs) {
  auto o = quiet("lbfgs", 1.0, 3);
  o.batch_size = 300;  // full batch
  o.schedule = "constant";
  EXPECT_GT(fit_accuracy(o), 0.95);
}
// An epoch's training metrics: all points of a small set (fit_accuracy checks them against evaluate), a fixed sample
// of 10,000 of a larger one, close to the metrics on all of it; the run's final evaluate uses all points.
TEST(Fit, EpochTrainMetricsOnAFixedSampleOfALargeSet) {
  torch::manual_seed(1);
  auto model = toy::linear_model(2, 2);
  auto data = toy::separable(12000, 3);
  auto o = quiet("sgd", 0.5, 2);
  o.batch_size = 500;
  Trainer trainer(model, o);
  const auto result = trainer.fit(data);
  ASSERT_EQ(result.history.size(), 2u);
  for (const auto& r : result.history) EXPECT_EQ(r.train.n, 10000);
  const auto all = trainer.evaluate(data);
  EXPECT_EQ(all.n, 12000);
  EXPECT_NEAR(result.history.back().train.accuracy, all.accuracy, 0.02);
  EXPECT_NEAR(result.history.back().train.nll, all.nll, 0.1 * all.nll + 0.01);
}

TEST(Fit, WarmupStepSchedule) {
  auto o = quiet("momentum", 0.1, 6);
  o.schedule = "step";
  o.step_size = 2;
  o.step_gamma = 0.5;
  o.warmup_epochs = 1;
  EXPECT_GT(fit_accuracy(o), 0.95);
}

TEST(Fit, UnknownOptimizerAndBadOptions) {
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 2);
  auto data = toy::separable(50, 1);
  EXPECT_THROW(Trainer(model, quiet("rmsprop-ish", 0.1, 1)).fit(data), rkhs::Error);
  auto o = quiet("sgd", 0.1, 1);
  o.schedule = "exponential";
  EXPECT_THROW(Trainer(model, o).fit(data), rkhs::Error);
  o = quiet("sgd", 0.1, 1);
  o.batch_size = 0;
  EXPECT_THROW(Trainer(model, o).fit(data), rkhs::Error);
  o = quiet("sgd", 0.1, 1);
  o.teacher_logits = torch::zeros({49, 2});
  EXPECT_THROW(Trainer(model, o).fit(data), rkhs::Error);
  EXPECT_THROW(Trainer(model, quiet("sgd", 0.1, 1)).fit(rkhs::data::Dataset{}), rkhs::Error);
}

TEST(Fit, WeightDecayOverrideGetsItsOwnGroup) {
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 2, /*scale_wd=*/0.123);
  auto head = std::dynamic_pointer_cast<toy::LinearHead>(model->head);
  for (std::string name : {"sgd", "momentum", "adam", "adamw"}) {
    auto o = quiet(name, 0.1, 1);
    o.weight_decay = 5e-4;
    auto opt = rkhs::train::make_optimizer(*model, o);
    ASSERT_EQ(opt->param_groups().size(), 2u) << name;
    auto wd_of = [&](size_t g) -> double {
      auto& opts = opt->param_groups()[g].options();
      if (name == "adam") return static_cast<torch::optim::AdamOptions&>(opts).weight_decay();
      if (name == "adamw") return static_cast<torch::optim::AdamWOptions&>(opts).weight_decay();
      return static_cast<torch::optim::SGDOptions&>(opts).weight_decay();
    };
    EXPECT_DOUBLE_EQ(wd_of(0), 5e-4);
    EXPECT_DOUBLE_EQ(wd_of(1), 0.123);
    const auto& g0 = opt->param_groups()[0].params();
    const auto& g1 = opt->param_groups()[1].params();
    ASSERT_EQ(g0.size(), 2u);
    ASSERT_EQ(g1.size(), 1u);
    EXPECT_TRUE(g1[0].is_same(head->scale));
    EXPECT_TRUE(g0[0].is_same(head->weight) || g0[1].is_same(head->weight));
    if (name == "momentum") {
      auto& so = static_cast<torch::optim::SGDOptions&>(opt->param_groups()[1].options());
      EXPECT_DOUBLE_EQ(so.momentum(), 0.9);
      EXPECT_FALSE(so.nesterov());
    }
  }
  auto decays = rkhs::train::parameter_weight_decays(*model, quiet("lbfgs", 1, 1));
  ASSERT_EQ(decays.size(), 3u);
  for (const auto& [n, wd] : decays) EXPECT_DOUBLE_EQ(wd, n == "head.scale" ? 0.123 : 1e-4) << n;
  EXPECT_EQ(rkhs::train::make_optimizer(*model, quiet("lbfgs", 1, 1))->param_groups().size(), 1u);
}

TEST(Fit, NaNLossThrowsNamingTheEpoch) {
  torch::manual_seed(0);
  auto model = std::make_shared<rkhs::classify::ClassifierImpl>(std::make_shared<toy::IdentityBackbone>(2),
                                                                std::make_shared<toy::NaNHead>(2, 2, 12));
  auto data = toy::separable(100, 3);  // 4 batches of 32 per epoch: NaN appears in epoch 4, batch 1
  Trainer trainer(model, quiet("sgd", 0.1, 5));
  try {
    trainer.fit(data);
    FAIL() << "fit did not throw";
  } catch (const rkhs::Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("training diverged"), std::string::npos) << what;
    EXPECT_NE(what.find("epoch 4, batch 1"), std::string::npos) << what;
    EXPECT_NE(what.find("nan"), std::string::npos) << what;
  }
  // Parameters were never updated with a NaN gradient.
  for (const auto& p : model->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

// The divergence guard at a default rate (issue 26): each diverged epoch is undone and rerun at a 10x smaller rate
// until one trains; the rate's factor is reported and kept. Without restarts the same run throws.
TEST(Fit, DivergenceGuardLowersTheRateAndTrains) {
  auto data = toy::separable(200, 3);
  auto make = [] {
    torch::manual_seed(0);
    return std::make_shared<rkhs::classify::ClassifierImpl>(std::make_shared<toy::IdentityBackbone>(2),
                                                            std::make_shared<toy::BlowUpHead>(2, 2, 20.0));
  };
  auto o = quiet("sgd", 1e4, 4);
  o.schedule = "constant";
  o.max_restarts = 6;
  auto model = make();
  const auto r = Trainer(model, o).fit(data);
  EXPECT_GE(r.restarts, 2);
  EXPECT_LE(r.restarts, 6);
  EXPECT_NEAR(r.lr_factor, std::pow(0.1, double(r.restarts)), 1e-12);
  EXPECT_NEAR(r.history.back().lr, 1e4 * r.lr_factor, 1e-6);
  for (const auto& p : model->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  EXPECT_GT(r.history.back().train.accuracy, 0.9);
  o.max_restarts = 0;
  EXPECT_THROW(Trainer(make(), o).fit(data), rkhs::DivergenceError);
}

TEST(Fit, DistillationLearnsTheTeachersLabels) {
  torch::manual_seed(2);
  auto model = toy::linear_model(2, 2);
  auto data = toy::separable(300, 5);
  auto teacher_labels = 1 - data.y;  // the teacher disagrees with the true labels everywhere
  auto o = quiet("momentum", 0.1, 10);
  o.teacher_logits = torch::one_hot(teacher_labels, 2).to(torch::kFloat32) * 100.0;
  o.distill_temperature = 20;
  o.distill_weight = 1;
  Trainer trainer(model, o);
  auto result = trainer.fit(data);
  EXPECT_LT(result.history.back().train.accuracy, 0.05);
  rkhs::data::Dataset relabelled = data;
  relabelled.y = teacher_labels;
  EXPECT_GT(trainer.evaluate(relabelled).accuracy, 0.95);
}

TEST(Fit, BestValidationEpochIsRestored) {
  torch::manual_seed(4);
  auto model = toy::linear_model(2, 2);
  auto data = toy::separable(200, 6);
  rkhs::data::Dataset val = toy::separable(100, 7);
  val.y = 1 - val.y;  // the better the model fits the training set, the worse on this validation set
  auto o = quiet("momentum", 0.1, 5);
  o.schedule = "constant";
  Trainer trainer(model, o);
  auto result = trainer.fit(data, &val);
  ASSERT_EQ(result.history.size(), 5u);
  int64_t best = 1;
  for (const auto& r : result.history) {
    ASSERT_TRUE(r.validation.has_value());
    const auto& b = *result.history[best - 1].validation;
    if (r.validation->accuracy > b.accuracy || (r.validation->accuracy == b.accuracy && r.validation->nll < b.nll))
      best = r.epoch;
  }
  EXPECT_EQ(result.best_epoch, best);
  EXPECT_LT(result.best_epoch, 5);
  auto now = trainer.evaluate(val);
  const auto& rec = *result.history[result.best_epoch - 1].validation;
  EXPECT_DOUBLE_EQ(now.accuracy, rec.accuracy);
  EXPECT_NEAR(now.nll, rec.nll, 1e-12);
  EXPECT_NE(now.nll, result.history.back().validation->nll);
  EXPECT_NEAR(trainer.evaluate(data).nll, result.history[result.best_epoch - 1].train.nll, 1e-12);
}

TEST(Fit, SameSeedSameHistory) {
  auto run = [] {
    auto o = quiet("momentum", 0.1, 3);
    o.warmup_epochs = 1;
    torch::manual_seed(o.seed);
    auto model = toy::linear_model(2, 2);
    auto data = toy::separable(130, 8);
    return Trainer(model, o).fit(data).history;
  };
  auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].lr, b[i].lr);
    EXPECT_EQ(a[i].train_loss, b[i].train_loss);
    EXPECT_EQ(a[i].train.accuracy, b[i].train.accuracy);
    EXPECT_EQ(a[i].train.nll, b[i].train.nll);
    EXPECT_EQ(a[i].train.ece, b[i].train.ece);
  }
}

TEST(Fit, PredictAndEmbedAreBatchedOnCpu) {
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 3);
  rkhs::data::Dataset d;
  d.x = torch::randn({2500, 2});
  d.y = torch::randint(0, 3, {2500}, torch::kLong);
  d.num_classes = 3;
  Trainer trainer(model, quiet("sgd", 0.1, 1));
  auto logits = trainer.predict_logits(d);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2500, 3}));
  EXPECT_FALSE(logits.requires_grad());
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::allclose(logits, model->forward(d.x), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(trainer.embed(d), d.x));
  EXPECT_EQ(trainer.evaluate(d).n, 2500);
}

TEST(Fit, ProgressPrintsOneLinePerEpochWhenStderrIsNotATerminal) {
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 2);
  auto data = toy::separable(100, 3);
  auto val = toy::separable(50, 4);
  auto o = quiet("momentum", 0.1, 3);
  o.progress = true;
  testing::internal::CaptureStderr();
  Trainer(model, o).fit(data, &val);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 3) << err;
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;
  EXPECT_NE(err.find("epoch 1/3  4/4  loss "), std::string::npos) << err;
  EXPECT_NE(err.find("val acc "), std::string::npos) << err;
  std::cout << err;
}

namespace {

// A linear head that draws noise from the global CPU generator in every training forward (as dropout does).
class NoisyHead : public toy::LinearHead {
 public:
  NoisyHead(int64_t d, int64_t c) : LinearHead(d, c) {}
  torch::Tensor forward(const torch::Tensor& z) override {
    auto out = LinearHead::forward(z);
    return is_training() ? out + 0.3 * torch::randn_like(out) : out;
  }
};

std::shared_ptr<rkhs::classify::ClassifierImpl> noisy_model(uint64_t seed) {
  torch::manual_seed(seed);
  return std::make_shared<rkhs::classify::ClassifierImpl>(std::make_shared<toy::IdentityBackbone>(2),
                                                          std::make_shared<NoisyHead>(2, 2));
}

}  // namespace

// Trainer::fit_until (the learning-rate search's successive halving): a run in parts, with another run in between
// that draws from the same global generator, equals the run in one go epoch by epoch, best epoch and final weights
// included; the pause must move forward and stay on the same data.
TEST(Fit, RunInPartsEqualsTheRunInOneGo) {
  auto data = toy::separable(150, 3);
  rkhs::data::Dataset val = toy::separable(60, 4);
  auto o = quiet("momentum", 0.1, 5);
  Trainer whole(noisy_model(7), o);
  const auto a = whole.fit(data, &val);

  Trainer parts(noisy_model(7), o);
  EXPECT_FALSE(parts.paused());
  auto p = parts.fit_until(data, &val, 2);
  EXPECT_TRUE(parts.paused());
  EXPECT_EQ(p.history.size(), 2u);
  Trainer other(noisy_model(9), quiet("momentum", 0.3, 5));  // reseeds the global generator
  other.fit_until(data, &val, 3);  // another run's epochs (and random draws) in between
  EXPECT_THROW(parts.fit_until(data, &val, 1), rkhs::Error);   // backwards
  EXPECT_THROW(parts.fit_until(data, &val, 6), rkhs::Error);   // past the end
  EXPECT_THROW(parts.fit_until(val, &val, 3), rkhs::Error);    // other data
  p = parts.fit_until(data, &val, 4);
  other.fit(data, &val);
  const auto b = parts.fit(data, &val);
  EXPECT_FALSE(parts.paused());
  ASSERT_EQ(b.history.size(), a.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) {
    EXPECT_EQ(b.history[i].lr, a.history[i].lr);
    EXPECT_EQ(b.history[i].train_loss, a.history[i].train_loss) << "epoch " << i + 1;
    EXPECT_EQ(b.history[i].validation->nll, a.history[i].validation->nll) << "epoch " << i + 1;
  }
  EXPECT_EQ(b.best_epoch, a.best_epoch);
  EXPECT_EQ(b.epochs_run, 5);
  EXPECT_EQ(parts.evaluate(val).nll, whole.evaluate(val).nll);
}

// Trainer::continue_on (the rate search's survivor taking in its hold-out). Going on with a copy of its own training
// set is the run in one go; paused before its first epoch, going on with another set is that set's run from the
// start (its steps per epoch, schedule and Kernel SGD's fixed batches); switched mid-run, the epoch has the new
// set's steps and the schedule its place in epochs; later epochs without validation are not scored.
TEST(Fit, ContinueOnOtherDataIsThatDatasRunFromTheNextEpoch) {
  auto data = toy::separable(150, 3);
  auto more = toy::separable(230, 5);
  rkhs::data::Dataset val = toy::separable(60, 4);
  for (const std::string opt : {"momentum", "kernel-sgd"}) {
    SCOPED_TRACE(opt);
    auto o = quiet(opt, 0.1, 4);
    o.restore_best = false;
    const auto same_losses = [](const rkhs::train::TrainResult& x, const rkhs::train::TrainResult& y) {
      ASSERT_EQ(x.history.size(), y.history.size());
      for (size_t i = 0; i < x.history.size(); ++i)
        EXPECT_EQ(x.history[i].train_loss, y.history[i].train_loss) << "epoch " << i + 1;
    };
    Trainer whole(noisy_model(7), o);
    const auto a = whole.fit(data, &val);
    Trainer parts(noisy_model(7), o);
    parts.fit_until(data, &val, 2);
    const rkhs::data::Dataset copy = data;  // the same tensors in another object
    parts.continue_on(copy, nullptr);
    const auto b = parts.fit(copy, nullptr);
    same_losses(a, b);
    EXPECT_TRUE(b.history[1].validation.has_value());
    EXPECT_FALSE(b.history[2].validation.has_value());
    EXPECT_EQ(parts.evaluate(val).nll, whole.evaluate(val).nll);

    Trainer fresh(noisy_model(7), o);
    const auto c = fresh.fit(more);
    Trainer moved(noisy_model(7), o);
    moved.fit_until(data, &val, 0);
    moved.continue_on(more, nullptr);
    const auto d = moved.fit(more);
    same_losses(c, d);
    EXPECT_EQ(moved.evaluate(val).nll, fresh.evaluate(val).nll);
    if (opt == "kernel-sgd") {
      EXPECT_EQ(d.inverses, 5 + 8);  // 150 points in batches of 32, then 230
    }

    Trainer mid(noisy_model(7), o);
    mid.fit_until(data, &val, 2);
    mid.continue_on(more, nullptr);
    const auto e = mid.fit(more, nullptr);
    ASSERT_EQ(e.history.size(), 4u);
    EXPECT_DOUBLE_EQ(e.history[1].lr, rkhs::train::lr_at(o, 2 * 5 - 1, 5));  // epoch 2's last step: 5 per epoch
    EXPECT_DOUBLE_EQ(e.history[2].lr, rkhs::train::lr_at(o, 3 * 8 - 1, 8));  // epoch 3's last step: 8 per epoch
  }
  auto o = quiet("momentum", 0.1, 4);
  Trainer idle(noisy_model(7), o);
  EXPECT_THROW(idle.continue_on(more, nullptr), rkhs::Error);  // no paused run
  idle.fit_until(data, &val, 1);
  EXPECT_THROW(idle.continue_on(more, nullptr), rkhs::Error);  // the best validation epoch needs its set
  const rkhs::data::Dataset val_copy = val;
  EXPECT_THROW(idle.continue_on(more, &val_copy), rkhs::Error);  // (one object: the same set, not equal points)
  rkhs::data::Dataset wide = more;
  wide.x = torch::cat({more.x, more.x}, 1);
  EXPECT_THROW(idle.continue_on(wide, &val), rkhs::Error);  // another sample shape
  idle.continue_on(more, &val);
  EXPECT_EQ(idle.fit(more, &val).history.size(), 4u);
}

// Kernel SGD with a shared preconditioner (the rate search's candidates): the second run of the same partition
// reuses the first run's inverses, and both runs train as with their own.
TEST(Fit, KernelSgdRunsShareOnePreconditioner) {
  auto data = toy::separable(150, 3);
  auto o = quiet("kernel-sgd", 0.1, 2);
  o.kernel_sgd.damping = 0.1;
  auto own = [&](TrainOptions opts) {
    torch::manual_seed(5);
    return Trainer(toy::linear_model(2, 2), opts).fit(data);
  };
  const auto alone = own(o);
  o.kernel_sgd.shared = std::make_shared<rkhs::optim::KernelPreconditioner>(
      rkhs::optim::PreconditionerOptions{o.kernel_sgd.kernel, o.kernel_sgd.damping, o.seed});
  const auto first = own(o);
  EXPECT_EQ(o.kernel_sgd.shared->inverses_computed(), 5);  // 150 points in batches of 32
  const auto second = own(o);
  EXPECT_EQ(o.kernel_sgd.shared->inverses_computed(), 5);  // not computed again
  EXPECT_EQ(second.history.back().train_loss, alone.history.back().train_loss);
  EXPECT_EQ(first.history.back().train_loss, alone.history.back().train_loss);
  auto other = o;
  other.kernel_sgd.damping = 0.5;
  EXPECT_THROW(own(other), rkhs::Error);  // the shared one was made with damping 0.1
}

// restore_best off (the rate search's final model with its own hold-out): the validation metrics are recorded, but
// the model returned is the last epoch's, and best_epoch says so.
TEST(Fit, WithoutRestoreBestTheLastEpochIsKept) {
  torch::manual_seed(4);
  auto model = toy::linear_model(2, 2);
  auto data = toy::separable(200, 6);
  rkhs::data::Dataset val = toy::separable(100, 7);
  val.y = 1 - val.y;  // the best validation epoch is an early one (Fit.BestValidationEpochIsRestored)
  auto o = quiet("momentum", 0.1, 5);
  o.schedule = "constant";
  o.restore_best = false;
  Trainer trainer(model, o);
  const auto result = trainer.fit(data, &val);
  ASSERT_EQ(result.history.size(), 5u);
  EXPECT_EQ(result.best_epoch, 5);
  ASSERT_TRUE(result.history.back().validation.has_value());
  EXPECT_NEAR(trainer.evaluate(val).nll, result.history.back().validation->nll, 1e-12);
}
