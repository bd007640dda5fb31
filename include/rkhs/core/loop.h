#pragma once
// The training kit: the one step loop that every system's training runs in.
//
// A system supplies its step (one optimizer update on one batch or iteration, returning the loss before the
// update) and, where it has them, what happens around an epoch (a new permutation, a refit, an evaluation, a
// checkpoint). The kit supplies the rest, once for every system: the epochs and steps, the learning rate of each
// step from a Schedule, the progress line with ETA, the divergence guard (a loss that is not finite, or a running
// mean far above the epoch's reference, stops the epoch; with restarts left the epoch's starting state is put back
// and the epoch rerun at a smaller rate, with a warning; otherwise an rkhs::Error names the epoch, step and rate),
// keeping the best state on a validation score (BestKeeper), and timing.
//
// Minimal use (an iteration loop of 2,000 steps with a cosine rate):
//   core::LoopOptions lo;
//   lo.label = "NeuralEF";
//   lo.steps = 2000;
//   lo.schedule = {core::ScheduleKind::cosine, lr, 1, 2000};
//   core::LoopHooks h;
//   h.set_lr = [&](double lr) { ... };
//   h.step = [&](const core::Step& s) { ...; return core::StepLoss{loss}; };
//   auto report = core::run_loop(lo, h);
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rkhs/core/schedule.h"

namespace rkhs::core {

// The step being run.
struct Step {
  int64_t epoch = 1;   // 1-based
  int64_t index = 0;   // 0-based within the epoch
  int64_t global = 0;  // 0-based over the run: (epoch - 1) * steps + index
  double lr = 0;       // the schedule's rate times the guard's backoff
  // Whether the loop reads this step's loss: every step when LoopOptions::report_every <= 1, otherwise every
  // report_every-th step and the epoch's last. A step that is not asked may leave its loss on the device and
  // return StepLoss::pending (see LossMeter, rkhs/core/loss_meter.h).
  bool report = true;
};

// What a step reports: its loss before the update, and the weight of that loss in the epoch's mean (the batch's
// size, or 1 for a plain mean over steps). `progress`: units done in this step for the progress line (0 = one).
// A step may ask the loop to skip the loss check (check = false) when it has no loss to report.
// Deferred losses (no host synchronisation per step on a GPU): a step not asked to report (Step::report false)
// may return pending = true, keeping its loss on the device; the next step that reports returns the weighted mean
// loss and the total weight of itself and the pending steps before it, and the guard checks them together.
struct StepLoss {
  double loss = 0;
  double weight = 1;
  int64_t progress = 0;
  bool check = true;
  bool pending = false;
};

// One finished epoch.
struct EpochSummary {
  int64_t epoch = 1;
  double mean_loss = 0;  // weighted mean of the steps' losses
  double lr = 0;         // rate of the epoch's last step
  int64_t steps = 0;
  double seconds = 0;    // wall time of the epoch: its steps and reruns when end_epoch sees it, then with end_epoch
  std::string note;      // set by end_epoch: the epoch's final progress suffix (e.g. "loss 0.31  val acc 0.92")
  int64_t restarts = 0;  // the guard's restarts so far in the run, and the rate's factor after them (what a
  double backoff = 1;    // checkpoint keeps so that a resumed run continues with them: LoopOptions::resumed_*)
};

struct LoopOptions {
  // Progress line: with epochs > 1 (or epoch_label set), "LABEL E/EPOCHS"; otherwise LABEL alone.
  std::string label = "epoch";
  bool epoch_label = false;
  int64_t epochs = 1;
  int64_t steps = 1;             // steps per epoch
  int64_t progress_total = 0;    // units per epoch on the progress line (0 = steps)
  bool progress = true;
  bool progress_loss = true;     // show the running mean loss on the progress line
  std::optional<Schedule> schedule;  // the rate of each step (none: the step sets its own, Step::lr is 0)
  // Read the losses every this many steps (and at the epoch's last step); 1: every step. Steps in between may
  // defer theirs (StepLoss::pending): a divergence is then found at the next report, after the updates of the
  // steps in between (the epoch's undo still restores its start). Jobs use 1 on the CPU (a read is free there)
  // and report_interval(device) elsewhere.
  int64_t report_every = 1;
  // The divergence guard. A step's loss that is not finite, or (divergence_factor > 0) a running mean above
  // max(divergence_floor, divergence_factor * reference) after at least 5 steps, diverges the epoch.
  int64_t max_restarts = 0;      // epochs rerun after a divergence, over the whole run (0: a divergence throws)
  double backoff = 0.1;          // the rate's factor at each restart (kept for the later epochs)
  int64_t resumed_restarts = 0;  // a resumed run: the restarts already used and the factor they left
  double resumed_backoff = 1;
  double divergence_factor = 0;  // 0: only non-finite losses diverge
  double divergence_floor = 0;
  std::string who;               // prefix of the messages, e.g. "CKN supervised" ("" for the classifier)
  std::string hint = "try a smaller learning rate";  // ends the error when no restart is left
};

struct LoopHooks {
  // Applies the rate to the optimizer(s); called before every step when LoopOptions::schedule is set.
  std::function<void(double lr)> set_lr;
  // Once before each epoch (a refit, a score of the state so far...). May return the reference loss of the
  // divergence limit (ignored when divergence_factor is 0).
  std::function<double(int64_t epoch)> begin_epoch;
  // Before each pass over the epoch's steps, the first and every rerun (a new permutation, train mode...).
  std::function<void(int64_t epoch)> begin_pass;
  // One step; required. Either the whole update (returning the loss it started from), or, with `update` set, the
  // forward pass alone: the loop then checks the loss and calls update() only for a loss that passes the guard, so
  // a diverged batch never changes the parameters.
  std::function<StepLoss(const Step&)> step;
  std::function<void(const Step&)> update;
  // The guard's undo: save() at the start of each epoch when restarts are allowed, restore() before a rerun
  // (parameters and a fresh optimizer, so no momentum from the diverged steps is kept).
  std::function<void()> save;
  std::function<void()> restore;
  // After each epoch: evaluation, best state, checkpoints, logs. Returning true stops the run after this epoch.
  std::function<bool(EpochSummary&)> end_epoch;
};

struct LoopReport {
  std::vector<EpochSummary> epochs;  // the epochs run by this call
  int64_t restarts = 0;              // epochs rerun by the divergence guard (with LoopOptions::resumed_restarts)
  double backoff = 1;                // the rate's final factor from the guard
  double seconds = 0;                // wall time of the whole loop
  bool stopped = false;              // end_epoch asked to stop before the last epoch
};

// Runs epochs first_epoch..options.epochs (first_epoch > 1 when a run is resumed). Throws rkhs::Error
// "[WHO: ]training diverged: loss is X at epoch E, batch B (of N, lr L); HINT" when a divergence has no restart
// left (a restart warns "...: state restored, the epoch is rerun with lr L'"). Exceptions of the hooks propagate.
LoopReport run_loop(const LoopOptions& options, const LoopHooks& hooks, int64_t first_epoch = 1);

// Lexicographic validation score: higher primary wins, then higher secondary (e.g. accuracy, then -NLL).
struct Score {
  double primary = 0;
  double secondary = 0;
  bool operator>(const Score& o) const { return primary > o.primary || (primary == o.primary && secondary > o.secondary); }
};

// Keeps the state (parameters, a classifier, ...) of the best-scoring epoch; a tie keeps the earlier one.
template <typename State>
class BestKeeper {
 public:
  // Takes a snapshot with `take` only when `score` beats the best so far (or there is none). Returns whether it did.
  bool offer(int64_t epoch, const Score& score, const std::function<State()>& take) {
    if (has_ && !(score > score_)) return false;
    has_ = true;
    epoch_ = epoch;
    score_ = score;
    state_ = take();
    return true;
  }
  // For a resumed run: the best epoch and state read back from a checkpoint.
  void reset(int64_t epoch, const Score& score, State state) {
    has_ = true;
    epoch_ = epoch;
    score_ = score;
    state_ = std::move(state);
  }
  bool has() const { return has_; }
  int64_t epoch() const { return epoch_; }
  const Score& score() const { return score_; }
  const State& state() const { return state_; }

 private:
  bool has_ = false;
  int64_t epoch_ = 0;
  Score score_;
  State state_{};
};

// Seconds since construction (steady clock).
class Stopwatch {
 public:
  Stopwatch();
  double seconds() const;

 private:
  int64_t start_ns_;
};

// "%g"-style formatting of one number (printf format `f`), for messages.
std::string format_number(const char* f, double v);

}  // namespace rkhs::core
