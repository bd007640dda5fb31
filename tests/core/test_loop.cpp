// The training kit: schedules, the step loop, the divergence guard, best-state keeping.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "rkhs/core/device.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/loss_meter.h"
#include "rkhs/core/schedule.h"
#include "rkhs/error.h"
#include "warning_capture.h"

using rkhs::core::BestKeeper;
using rkhs::core::LoopHooks;
using rkhs::core::LoopOptions;
using rkhs::core::Schedule;
using rkhs::core::ScheduleKind;
using rkhs::core::Score;
using rkhs::core::Step;
using rkhs::core::StepLoss;

namespace {

LoopOptions quiet(int64_t epochs, int64_t steps) {
  LoopOptions o;
  o.epochs = epochs;
  o.steps = steps;
  o.progress = false;
  return o;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const rkhs::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// Hand-computed rates of each kind (the formulas of schedule.h).
TEST(CoreSchedule, KindsByHand) {
  Schedule s;
  s.lr = 2.0;
  s.epochs = 4;
  s.steps_per_epoch = 5;
  s.kind = ScheduleKind::constant;
  EXPECT_DOUBLE_EQ(s.at(19), 2.0);
  s.kind = ScheduleKind::cosine;  // T = 20
  EXPECT_DOUBLE_EQ(s.at(0), 2.0);
  EXPECT_NEAR(s.at(10), 1.0, 1e-15);
  EXPECT_NEAR(s.at(20), 0.0, 1e-15);
  // The form NeuralEF had, 0.5 lr (1 + cos(pi t / T)): the same rate up to the last bit (cos(pi (t / T)) here).
  for (int64_t t = 0; t < 20; ++t)
    EXPECT_NEAR(s.at(t), 0.5 * 2.0 * (1 + std::cos(M_PI * double(t) / 20.0)), 1e-15) << t;
  s.kind = ScheduleKind::step;
  s.step_size = 2;
  s.gamma = 0.5;
  EXPECT_DOUBLE_EQ(s.at(9), 2.0);   // epoch index 1
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);  // epoch index 2
  s.kind = ScheduleKind::multistep;  // drops after epochs 1 and 3 (1-based)
  s.milestones = {1, 3};
  s.gamma = 0.1;
  EXPECT_DOUBLE_EQ(s.at(4), 2.0);
  EXPECT_EQ(s.at(5), 2.0 * 0.1);
  EXPECT_EQ(s.at(14), 2.0 * 0.1);
  EXPECT_EQ(s.at(15), 2.0 * 0.1 * 0.1);
  s.kind = ScheduleKind::constant;
  s.warmup = 4;  // 0.1 + 0.9 t / W
  EXPECT_DOUBLE_EQ(s.at(0), 0.2);
  EXPECT_DOUBLE_EQ(s.at(2), 2.0 * (0.1 + 0.45));
  EXPECT_DOUBLE_EQ(s.at(4), 2.0);
}

TEST(CoreSchedule, NamesAndErrors) {
  for (const auto& name : rkhs::core::schedule_names())
    EXPECT_EQ(rkhs::core::schedule_name(rkhs::core::parse_schedule(name)), name);
  EXPECT_NE(message_of([] { rkhs::core::parse_schedule("linear"); }).find("cosine"), std::string::npos);
  Schedule s;
  s.steps_per_epoch = 0;
  EXPECT_THROW(s.at(0), rkhs::Error);
  s.steps_per_epoch = 1;
  EXPECT_THROW(s.at(-1), rkhs::Error);
  s.kind = ScheduleKind::step;
  s.step_size = 0;
  EXPECT_THROW(s.at(0), rkhs::Error);
}

// Every step runs once, in order, with its epoch, index, global index and scheduled rate; the epoch mean is
// weighted; hooks run in their order.
TEST(CoreLoop, RunsStepsInOrderWithRatesAndWeightedMeans) {
  auto o = quiet(3, 4);
  Schedule s;
  s.kind = ScheduleKind::cosine;
  s.lr = 1.0;
  s.epochs = 3;
  s.steps_per_epoch = 4;
  o.schedule = s;
  std::vector<std::string> events;
  std::vector<double> rates;
  LoopHooks h;
  h.set_lr = [&](double lr) { rates.push_back(lr); };
  h.begin_epoch = [&](int64_t e) {
    events.push_back("begin " + std::to_string(e));
    return 0.0;
  };
  h.begin_pass = [&](int64_t e) { events.push_back("pass " + std::to_string(e)); };
  h.step = [&](const Step& st) {
    EXPECT_EQ(st.global, (st.epoch - 1) * 4 + st.index);
    EXPECT_DOUBLE_EQ(st.lr, s.at(st.global));
    return StepLoss{double(st.index), double(st.index + 1)};  // losses 0..3 with weights 1..4
  };
  int64_t updates = 0;
  h.update = [&](const Step&) { ++updates; };
  h.end_epoch = [&](rkhs::core::EpochSummary& e) {
    events.push_back("end " + std::to_string(e.epoch));
    EXPECT_EQ(e.steps, 4);
    EXPECT_DOUBLE_EQ(e.mean_loss, (0 * 1 + 1 * 2 + 2 * 3 + 3 * 4) / 10.0);
    EXPECT_DOUBLE_EQ(e.lr, s.at(e.epoch * 4 - 1));
    return false;
  };
  auto r = rkhs::core::run_loop(o, h);
  EXPECT_EQ(updates, 12);
  EXPECT_EQ(rates.size(), 12u);
  ASSERT_EQ(r.epochs.size(), 3u);
  EXPECT_EQ(r.restarts, 0);
  EXPECT_FALSE(r.stopped);
  std::vector<std::string> want = {"begin 1", "pass 1", "end 1", "begin 2", "pass 2", "end 2", "begin 3", "pass 3", "end 3"};
  EXPECT_EQ(events, want);
  // A resumed run starts at its first epoch; end_epoch can stop it early.
  h.end_epoch = [](rkhs::core::EpochSummary& e) { return e.epoch == 2; };
  auto resumed = rkhs::core::run_loop(o, h, 2);
  ASSERT_EQ(resumed.epochs.size(), 1u);
  EXPECT_EQ(resumed.epochs[0].epoch, 2);
  EXPECT_TRUE(resumed.stopped);
}

// A non-finite loss stops the run with an error naming the epoch and batch, and its update never runs.
TEST(CoreLoop, NonFiniteLossThrowsNamingTheStepWithoutUpdating) {
  auto o = quiet(3, 4);
  o.who = "toy";
  LoopHooks h;
  int64_t updates = 0;
  h.step = [](const Step& s) {
    return StepLoss{s.epoch == 2 && s.index == 2 ? std::numeric_limits<double>::quiet_NaN() : 1.0};
  };
  h.update = [&](const Step&) { ++updates; };
  const auto what = message_of([&] { rkhs::core::run_loop(o, h); });
  EXPECT_NE(what.find("toy: training diverged: loss is nan at epoch 2, batch 3 (of 4"), std::string::npos) << what;
  EXPECT_EQ(updates, 4 + 2);
  // A step that reports no loss is not checked.
  h.step = [](const Step&) {
    StepLoss l{std::numeric_limits<double>::quiet_NaN()};
    l.check = false;
    return l;
  };
  EXPECT_NO_THROW(rkhs::core::run_loop(o, h));
}

// Deferred losses (issue 24): with report_every 3 the loop asks for a report at steps 3, 6 and the epoch's last; the
// steps in between keep their losses on the device (LossMeter) and are updated unchecked; the epoch's mean is the
// same weighted mean as when every step reports, and a NaN is found at the next report, naming the steps covered.
TEST(CoreLoop, DeferredLossesAreReadAtReportsAndChecked) {
  auto o = quiet(2, 7);
  o.report_every = 3;
  o.who = "toy";
  rkhs::core::LossMeter meter;
  std::vector<int64_t> reported;
  int64_t updates = 0;
  double nan_at = -1;  // global step whose loss is NaN
  LoopHooks h;
  h.step = [&](const Step& s) {
    if (s.report) reported.push_back(s.global);
    const double loss = double(s.global) == nan_at ? std::numeric_limits<double>::quiet_NaN() : double(s.global + 1);
    meter.add(torch::tensor(loss), double(s.index + 1));
    return meter.finish(s);
  };
  h.update = [&](const Step&) { ++updates; };
  const auto r = rkhs::core::run_loop(o, h);
  EXPECT_EQ(reported, (std::vector<int64_t>{2, 5, 6, 9, 12, 13}));
  EXPECT_EQ(updates, 14);
  // Epoch 1: losses 1..7 with weights 1..7, mean sum(i * i) / sum(i) = 140 / 28.
  EXPECT_NEAR(r.epochs[0].mean_loss, 140.0 / 28.0, 1e-12);
  EXPECT_NEAR(r.epochs[1].mean_loss, (8 * 1 + 9 * 2 + 10 * 3 + 11 * 4 + 12 * 5 + 13 * 6 + 14 * 7) / 28.0, 1e-12);

  updates = 0;
  nan_at = 1;  // found at the report of step 3, after steps 1 and 2 were updated
  const auto what = message_of([&] { rkhs::core::run_loop(o, h); });
  EXPECT_NE(what.find("toy: training diverged: loss is nan at epoch 1, batch 3 or one of the 2 before it (of 7"),
            std::string::npos)
      << what;
  EXPECT_EQ(updates, 2);

  // A step asked to report must not leave its loss pending.
  h.step = [](const Step&) {
    StepLoss l;
    l.pending = true;
    return l;
  };
  EXPECT_NE(message_of([&] { rkhs::core::run_loop(o, h); }).find("left it pending"), std::string::npos);
  // One read per report on the CPU, every step; elsewhere every 50 steps.
  EXPECT_EQ(rkhs::core::report_interval(c10::Device(c10::kCPU)), 1);
  EXPECT_EQ(rkhs::core::report_interval(c10::Device(c10::kCUDA, 0)), 50);
}

// The guard: a running mean above factor * reference (or the floor) after 5 steps reruns the epoch from the
// saved state at a smaller rate, with a warning; restarts are bounded; without restarts the run throws.
TEST(CoreLoop, GuardRestoresAndRerunsAtASmallerRate) {
  auto o = quiet(2, 10);
  Schedule s;
  s.lr = 1.0;
  s.epochs = 2;
  s.steps_per_epoch = 10;
  o.schedule = s;
  o.max_restarts = 3;
  o.divergence_factor = 2;
  o.divergence_floor = 0.5;
  o.who = "toy";
  double param = 0, saved = 0;
  int64_t saves = 0, restores = 0, passes = 0, begins = 0;
  LoopHooks h;
  h.begin_epoch = [&](int64_t) {
    ++begins;
    return 1.0;  // limit max(0.5, 2 * 1) = 2
  };
  h.begin_pass = [&](int64_t) { ++passes; };
  h.save = [&] {
    ++saves;
    saved = param;
  };
  h.restore = [&] {
    ++restores;
    param = saved;
  };
  h.step = [&](const Step& st) { return StepLoss{st.lr > 0.05 ? 10.0 : 1.0}; };  // diverges above lr 0.05
  h.update = [&](const Step&) { param += 1; };
  rkhs::testing::WarningCapture capture;
  auto r = rkhs::core::run_loop(o, h);
  EXPECT_EQ(r.restarts, 2);  // 1 -> 0.1 -> 0.01
  EXPECT_DOUBLE_EQ(r.backoff, 0.01);
  EXPECT_EQ(restores, 2);
  EXPECT_EQ(saves, 2);
  EXPECT_EQ(begins, 2);
  EXPECT_EQ(passes, 4);
  EXPECT_EQ(param, 20);  // the diverged passes were undone
  ASSERT_EQ(capture.messages.size(), 2u);
  EXPECT_NE(capture.messages[0].find("toy: training diverged: running mean loss 10 at epoch 1, batch 5"),
            std::string::npos)
      << capture.messages[0];
  EXPECT_NE(capture.messages[0].find("rerun with lr 0.1"), std::string::npos) << capture.messages[0];
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_NEAR(r.epochs[1].lr, 0.01, 1e-15);
  // Restarts exhausted: the error names the restarts.
  o.max_restarts = 1;
  const auto what = message_of([&] { rkhs::core::run_loop(o, h); });
  EXPECT_NE(what.find("after 1 restart(s)"), std::string::npos) << what;
  o.max_restarts = 0;
  EXPECT_NE(message_of([&] { rkhs::core::run_loop(o, h); }).find("at epoch 1, batch 5"), std::string::npos);
}

TEST(CoreLoop, RejectsBadOptions) {
  LoopHooks h;
  EXPECT_THROW(rkhs::core::run_loop(quiet(1, 1), h), rkhs::Error);  // no step
  h.step = [](const Step&) { return StepLoss{}; };
  EXPECT_THROW(rkhs::core::run_loop(quiet(1, 0), h), rkhs::Error);
  auto o = quiet(1, 1);
  o.backoff = 1;
  EXPECT_THROW(rkhs::core::run_loop(o, h), rkhs::Error);
}

TEST(CoreBestKeeper, KeepsTheFirstOfTiesAndComparesLexicographically) {
  BestKeeper<int> keeper;
  EXPECT_FALSE(keeper.has());
  int takes = 0;
  auto take = [&] { return ++takes; };
  EXPECT_TRUE(keeper.offer(1, Score{0.5, -1.0}, take));
  EXPECT_FALSE(keeper.offer(2, Score{0.5, -1.0}, take));  // a tie keeps the earlier
  EXPECT_TRUE(keeper.offer(3, Score{0.5, -0.5}, take));   // same accuracy, lower NLL
  EXPECT_FALSE(keeper.offer(4, Score{0.4, 0.0}, take));
  EXPECT_EQ(keeper.epoch(), 3);
  EXPECT_EQ(keeper.state(), 2);
  EXPECT_EQ(takes, 2);  // snapshots only when better
}
