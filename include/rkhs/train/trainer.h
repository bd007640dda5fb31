#pragma once
// The training harness for classifiers (backbone + head): optimizers, schedules, metrics, checkpoints,
// progress, distillation.
#include "rkhs/classify/model.h"
#include "rkhs/data/dataset.h"

#include <c10/core/Device.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rkhs::optim {
class KernelPreconditioner;
}

namespace rkhs::train {

struct Metrics {
  double accuracy = 0;  // fraction in [0, 1]
  double nll = 0;       // mean negative log-likelihood (cross-entropy) in nats
  double ece = 0;       // expected calibration error, 15 equal-width confidence bins
  int64_t n = 0;
};

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double lr = 0;      // learning rate at the end of the epoch
  double train_loss = 0;  // mean training objective over the epoch's batches
  Metrics train;          // after the epoch (eval mode), on the training set or a fixed sample of 10,000 of it
  std::optional<Metrics> validation;
  double seconds = 0;  // wall time of the epoch (training + evaluation)
};

// Kernel SGD (paper 001; rkhs/optim/kernel_sgd.h), used when TrainOptions::optimizer is "kernel-sgd".
struct KernelSgdSettings {
  std::string kernel = "rbf:gamma=0.01";  // kernel of the batch inputs, or "random-psd" (the paper's control)
  std::string mode = "faithful";          // faithful (the paper's zero padding) | corrected (identity padding)
  // Invert H + damping I. 0.1: with the unit-diagonal RBF kernel no direction gets more than 10 times an SGD step;
  // 0 (the paper's plain inverse) diverges at every rate where H is near singular, e.g. on low-dimensional inputs
  // (sphere, moons, circles: rank 25-28 of 128 at gamma 0.01). Where H is close to I (Fashion-MNIST at gamma 0.01)
  // 0.1 changes the step by 10% (docs/RESULTS.md, "Commands at their defaults").
  double damping = 0.1;
  bool fixed_batches = true;  // one batch partition per run with all inverses computed once (the paper), else
                              // fresh batches every epoch and one inverse per step
  bool all_layers = false;    // eq. 5 on every weight matrix (paper's Table 1 ablation), not only the last layer
  double momentum = 0;        // 0: plain SGD steps as in Algorithm 1; > 0: heavy-ball on every parameter
  // When set, the preconditioner every optimizer made with these settings uses (its options must be these): a
  // rate search's candidates share one set of fixed-batch inverses instead of computing it each.
  std::shared_ptr<optim::KernelPreconditioner> shared;
};

struct TrainOptions {
  std::string optimizer = "momentum";  // sgd | momentum | adam | adamw | lbfgs | esgd | adahessian | kernel-sgd
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 1e-4;  // paper 000 appendix A: the same 1e-4 as on the KCL coefficients
  int64_t epochs = 10;
  int64_t batch_size = 128;
  std::string schedule = "cosine";  // constant | step | cosine
  double warmup_epochs = 0;         // linear warm-up from lr/10 to lr (see lr_at in rkhs/train/schedule.h)
  int64_t step_size = 30;           // step schedule: multiply by step_gamma every step_size epochs
  double step_gamma = 0.1;
  uint64_t seed = 0;
  c10::Device device = c10::Device(c10::kCPU);
  bool progress = true;              // progress line with ETA on stderr
  std::string checkpoint_path;       // "" = no checkpoints; else written atomically after every epoch
  bool resume = false;               // continue from checkpoint_path if it exists
  // A JSON object the checkpoints carry as their metadata's "note" (read back with core::read_checkpoint_meta):
  // what the caller needs to resume besides the run itself (the classifier: its rate search's choice).
  std::string checkpoint_note;
  // With a validation set: keep the best validation epoch's weights at the end (model selection); false: keep the
  // last epoch's (the validation metrics are still recorded every epoch; best_epoch is then the last).
  bool restore_best = true;
  int64_t lbfgs_history = 10;
  int64_t lbfgs_max_iter = 20;       // L-BFGS iterations per mini-batch (one optimizer step per batch)
  KernelSgdSettings kernel_sgd;
  int64_t esgd_update_every = 20;    // ESGD: curvature estimate every this many steps
  double esgd_damping = 1e-4;        // ESGD: lambda in g / (sqrt(D / i) + lambda)
  double adahessian_beta1 = 0.9, adahessian_beta2 = 0.999, adahessian_eps = 1e-4, adahessian_power = 1;
  // Stopping rule of paper 001 §4.1: stop when the mean training loss of an epoch changes by less than
  // converge_tol from the previous epoch, converge_patience epochs in a row (0 = off; run all epochs).
  double converge_tol = 0;
  int64_t converge_patience = 3;
  // The divergence guard (core::run_loop): an epoch whose loss stops being finite is undone (parameters restored,
  // a fresh optimizer) and rerun at a 10x smaller rate, at most max_restarts times over the run; the smaller rate
  // is kept for the later epochs. 0: a divergence throws. The CLI uses 3 when --lr is not given (issue 26).
  int64_t max_restarts = 0;
  // Distillation (paper 000 §6.4): when teacher_logits (n_train, C) is defined, the loss is the cross-entropy
  // between softmax(teacher/T) and softmax(student/T), times T^2, mixed with the hard-label loss:
  // distill_weight * soft + (1 - distill_weight) * hard.
  at::Tensor teacher_logits;
  double distill_temperature = 20.0;
  double distill_weight = 1.0;
  // Called after every epoch, after the checkpoint of that epoch is written (for CSV logs, live plots); may be
  // empty. An exception thrown here stops fit() and propagates (the checkpoint of the epoch is kept).
  std::function<void(const EpochRecord&)> on_epoch;
};

struct TrainResult {
  std::vector<EpochRecord> history;
  double train_seconds = 0;  // wall time of fit() without the initial set-up
  int64_t epochs_run = 0;    // epochs run in this call (less than options.epochs when resumed)
  int64_t best_epoch = 0;    // epoch with the best validation accuracy (last epoch without validation)
  int64_t converged_epoch = 0;  // epoch at which the stopping rule fired (0: it did not)
  int64_t optimizer_state_bytes = 0;  // optimizer buffers at the end + Kernel SGD's stored inverses
  // Kernel SGD only: bytes of the stored inverse kernel matrices (the paper's "Hessian" column), time spent
  // computing them (included in train_seconds), inverses computed, and how many were pseudo-inverses.
  int64_t preconditioner_bytes = 0;
  double preconditioner_seconds = 0;
  int64_t inverses = 0, pseudo_inverses = 0;
  int64_t restarts = 0;     // epochs rerun by the divergence guard over the run (a resumed run: with the checkpoint's)
  double lr_factor = 1;     // the rate's factor after them (0.1 per restart)
};

class FitRun;  // one run of fit(), possibly paused (trainer.cpp)

class Trainer {
 public:
  Trainer(std::shared_ptr<classify::ClassifierImpl> model, TrainOptions options);
  // Trains on `train`; evaluates on `validation` (if non-null) after every epoch. When a validation set is
  // given, the weights of the best validation epoch are restored at the end (model selection on validation,
  // never on test) unless options.restore_best is off. Throws rkhs::Error when the loss becomes NaN/Inf, naming
  // the epoch and batch.
  TrainResult fit(const data::Dataset& train, const data::Dataset* validation = nullptr);
  // fit() in parts, for a search that continues the best of several runs (successive halving): trains up to epoch
  // `until` of the run that fit() would do (its schedule still spans options.epochs) and pauses there, the model at
  // that epoch's weights; the next call (fit_until or fit) continues the same run and must pass the same data
  // sets. The global CPU random state is the run's own across the pause, so a run in parts equals the run in one
  // go. The call that reaches options.epochs, or where the stopping rule fires, ends the run as fit() does (the best
  // validation epoch restored). Returns the run so far (history, best_epoch). A divergence ends the run.
  TrainResult fit_until(const data::Dataset& train, const data::Dataset* validation, int64_t until);
  bool paused() const { return run_ != nullptr; }
  // Writes the checkpoint of the paused run, or of the run that the last fit_until call ended, at its last epoch
  // (to options.checkpoint_path with its note, as set by continue_with): the file fit() writes after that epoch,
  // for a run trained without one (a search's survivor). Resuming a paused run's file continues as the paused run
  // would (its own random state is saved, not the global one), with the data sets continue_on last gave it. Throws
  // rkhs::Error when no run is paused and fit_until ended none since the last fit(), or the path is empty. fit()
  // keeps nothing of the run it ends.
  void checkpoint_run();
  // For the rest of a paused run (a search's survivor going on as the final model): the checkpoint file and its
  // note, the divergence guard's allowance, the per-epoch callback and the progress line of `rest`; the others stay
  // (restore_best too: the best state is tracked from a run's start or not at all).
  void continue_with(const TrainOptions& rest);
  // A paused run goes on with other data sets from its next epoch (a search's survivor adding the hold-out it was
  // chosen on): an epoch then has as many steps as the new training set fills, the schedule keeps its place in
  // epochs, Kernel SGD's fixed batches are drawn on the new set, and a null validation scores no later epoch. The
  // best validation epoch (restore_best) needs the same validation set; distillation's teacher logits, the same
  // training set. Throws rkhs::Error otherwise, or when no run is paused.
  void continue_on(const data::Dataset& train, const data::Dataset* validation);
  // Metrics of the current model on a data set (eval mode, no gradient, batched).
  Metrics evaluate(const data::Dataset& dataset);
  // Logits (n, C) and embeddings (n, d) of a data set in eval mode, batched, on the CPU.
  at::Tensor predict_logits(const data::Dataset& dataset);
  at::Tensor embed(const data::Dataset& dataset);

 private:
  std::shared_ptr<classify::ClassifierImpl> model_;
  TrainOptions options_;
  std::shared_ptr<FitRun> run_;    // the paused run, if any
  std::shared_ptr<FitRun> ended_;  // the run that fit_until ended, for checkpoint_ended_run
};

// Accuracy, NLL and ECE of logits (n, C) against labels (n,).
Metrics compute_metrics(const at::Tensor& logits, const at::Tensor& labels, int64_t ece_bins = 15);

}  // namespace rkhs::train
