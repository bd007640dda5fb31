#include "rkhs/train/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "rkhs/error.h"
#include "rkhs/optim/optimizer_base.h"
#include "rkhs/train/batches.h"
#include "rkhs/core/checkpoint.h"
#include "rkhs/core/state.h"
#include "rkhs/train/history.h"
#include "rkhs/train/loss.h"
#include "rkhs/train/optimizer.h"
#include "rkhs/core/device.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/loss_meter.h"
#include "rkhs/train/schedule.h"

namespace rkhs::train {

namespace {

constexpr int64_t kEvalBatch = 1024;
constexpr const char* kBestPrefix = "best/";
constexpr const char* kRngCpu = "rng/cpu";
constexpr int64_t kEpochTrainPoints = 10000;  // FitRun::epoch_train_points

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Model selection on validation: higher accuracy, ties broken by lower NLL; the earlier epoch wins full ties.
bool better(const Metrics& a, const Metrics& b) { return a.accuracy > b.accuracy || (a.accuracy == b.accuracy && a.nll < b.nll); }

at::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const at::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state.to(torch::kCPU));
}

[[noreturn]] void diverged(const std::string& what, int64_t epoch, int64_t batch, int64_t batches, double lr) {
  throw DivergenceError("training diverged: " + what + " at epoch " + std::to_string(epoch) + ", batch " +
              std::to_string(batch) + " (of " + std::to_string(batches) + ", lr " + fmt("%.6g", lr) +
              "); try a smaller learning rate or a longer warm-up");
}

// Paper 001 §4.1: the mean training loss changed by less than tol in each of the last `patience` epochs.
bool loss_converged(const std::vector<EpochRecord>& history, double tol, int64_t patience) {
  if (tol <= 0 || patience <= 0 || static_cast<int64_t>(history.size()) <= patience) return false;
  for (size_t i = history.size() - static_cast<size_t>(patience); i < history.size(); ++i)
    if (!(std::abs(history[i].train_loss - history[i - 1].train_loss) < tol)) return false;
  return true;
}

// Thrown inside the L-BFGS closure to leave the optimizer's step before any update when the loss is not finite.
struct NonFiniteLoss {
  double value;
};

constexpr uint64_t kBatchOrderSalt = 0x6b65726e656c7367ULL;  // fixed-partition batch order per epoch

}  // namespace

Trainer::Trainer(std::shared_ptr<classify::ClassifierImpl> model, TrainOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
  RKHS_CHECK(model_ != nullptr, "Trainer: the model is null");
}

namespace {

// What fit() reads back from a checkpoint to resume: the history, the best epoch and its state.
struct Resumed {
  int64_t first_epoch = 1;
  int64_t best_epoch = 0;
  int64_t restarts = 0;  // the divergence guard's restarts and rate factor so far (checkpoints since issue 26)
  double lr_factor = 1;
  std::map<std::string, at::Tensor> best_state;
};

Resumed resume_from(const TrainOptions& o, int64_t n, classify::ClassifierImpl& model, torch::optim::Optimizer& opt,
                    TrainResult& result) {
  Resumed r;
  std::error_code ec;
  if (!o.resume || o.checkpoint_path.empty() || !std::filesystem::exists(o.checkpoint_path, ec)) return r;
  core::CheckpointInfo info = core::load_checkpoint(o.checkpoint_path, model, opt);
  try {
    auto meta = nlohmann::json::parse(info.meta_json);
    result.history = history_from_json(meta.at("history").dump());
    r.best_epoch = meta.at("best_epoch").get<int64_t>();
    const auto seed = meta.at("seed").get<uint64_t>();
    const auto batch = meta.at("batch_size").get<int64_t>();
    const auto optimizer = meta.at("optimizer").get<std::string>();
    RKHS_CHECK(seed == o.seed && batch == o.batch_size && optimizer == o.optimizer,
               "checkpoint " + o.checkpoint_path + " was written by a run with seed " + std::to_string(seed) +
                   ", batch size " + std::to_string(batch) + " and optimizer " + optimizer + "; this run has " +
                   std::to_string(o.seed) + ", " + std::to_string(o.batch_size) + " and " + o.optimizer);
    // Written since checkpoints carry them (older checkpoints are not checked for these two).
    if (meta.contains("train_examples"))
      RKHS_CHECK(meta.at("train_examples").get<int64_t>() == n,
                 "checkpoint " + o.checkpoint_path + " was trained on " +
                     std::to_string(meta.at("train_examples").get<int64_t>()) + " examples; this run has " +
                     std::to_string(n));
    if (meta.contains("lr_factor")) {
      r.restarts = meta.at("lr_restarts").get<int64_t>();
      r.lr_factor = meta.at("lr_factor").get<double>();
      RKHS_CHECK(r.restarts >= 0 && r.lr_factor > 0 && r.lr_factor <= 1,
                 "checkpoint " + o.checkpoint_path + ": invalid divergence-guard state");
    }
    const int world = core::DistWorld::get().size();
    if (meta.contains("world_size") || world > 1)
      RKHS_CHECK(meta.value("world_size", 1) == world,
                 "checkpoint " + o.checkpoint_path + " was written by a run of " +
                     std::to_string(meta.value("world_size", 1)) + " process(es); this run has " +
                     std::to_string(world) + " (--resume needs the same world size)");
    if (meta.contains("lr"))
      RKHS_CHECK(meta.at("lr").get<double>() == o.lr, "checkpoint " + o.checkpoint_path +
                                                          " was written with another learning rate (" +
                                                          fmt("%.6g", meta.at("lr").get<double>()) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw Error("checkpoint " + o.checkpoint_path + ": invalid metadata: " + e.what());
  }
  RKHS_CHECK(static_cast<int64_t>(result.history.size()) == info.epoch,
             "checkpoint " + o.checkpoint_path + ": history has " + std::to_string(result.history.size()) +
                 " epochs, expected " + std::to_string(info.epoch));
  for (const auto& [key, t] : info.extra) {
    if (key.rfind(kBestPrefix, 0) == 0) r.best_state[key.substr(std::char_traits<char>::length(kBestPrefix))] = t;
    if (key == kRngCpu) set_cpu_rng_state(t);
  }
  if (!r.best_state.empty()) core::check_state(model, r.best_state, "checkpoint " + o.checkpoint_path + " (best epoch)");
  RKHS_CHECK(info.epoch <= o.epochs, "checkpoint " + o.checkpoint_path + " has " + std::to_string(info.epoch) +
                                         " epochs, more than the " + std::to_string(o.epochs) + " asked for");
  r.first_epoch = info.epoch + 1;
  return r;
}

void check_fit_inputs(const TrainOptions& o, const data::Dataset& train, const data::Dataset* validation) {
  const int64_t n = train.size();
  RKHS_CHECK(n > 0, "fit: the training set '" + train.name + "' is empty");
  RKHS_CHECK(train.y.defined() && train.y.dim() == 1 && train.y.size(0) == n,
             "fit: training labels must be (n,) with n = " + std::to_string(n));
  RKHS_CHECK(o.batch_size > 0, "fit: batch size must be positive, got " + std::to_string(o.batch_size));
  RKHS_CHECK(o.epochs >= 0, "fit: epochs must be >= 0, got " + std::to_string(o.epochs));
  if (validation != nullptr) RKHS_CHECK(validation->size() > 0, "fit: the validation set is empty");
  if (o.teacher_logits.defined()) {
    RKHS_CHECK(o.teacher_logits.dim() == 2 && o.teacher_logits.size(0) == n,
               "fit: teacher logits must be (n_train, C) with n_train = " + std::to_string(n));
    RKHS_CHECK(o.distill_temperature > 0, "fit: distillation temperature must be positive");
    RKHS_CHECK(o.distill_weight >= 0 && o.distill_weight <= 1, "fit: distillation weight must be in [0, 1]");
  }
  RKHS_CHECK(o.converge_patience > 0, "fit: converge_patience must be positive");
}

}  // namespace

// One run of Trainer::fit (Trainer::fit_until: in parts): the set-up, the hooks that the training kit's loop calls,
// and the result.
class FitRun {
 public:
  FitRun(Trainer& trainer, classify::ClassifierImpl& model, const TrainOptions& o, const data::Dataset& train,
         const data::Dataset* validation)
      : trainer_(trainer), model_(model), o_(o), train_(&train), validation_(validation), n_(train.size()),
        batches_((n_ + o.batch_size - 1) / o.batch_size) {}

  // The set-up: the device, data parallelism, the optimizer, a checkpoint to resume from.
  void start() {
    schedule_of(o_, batches_).at(0);  // rejects a schedule that cannot be evaluated before any work
    model_.to(o_.device);
    if (dist_.active()) start_data_parallel();
    set_up_optimizer();
    Resumed resumed = resume_from(o_, n_, model_, *opt_, result_);
    best_epoch_ = resumed.best_epoch;
    best_state_ = std::move(resumed.best_state);
    next_epoch_ = resumed.first_epoch;
    result_.restarts = resumed.restarts;  // a resumed run continues at the rate the guard had lowered it to
    result_.lr_factor = resumed.lr_factor;
    const core::Stopwatch clock;  // Kernel SGD's inverses count as training time (TrainResult::train_seconds)
    prepare_partition();
    seconds_ = clock.seconds();
    if (loss_converged(result_.history, o_.converge_tol, o_.converge_patience))  // a resumed, converged run
      result_.converged_epoch = static_cast<int64_t>(result_.history.size());
  }

  // Epochs next_epoch_ .. until; then the end of the run (finish) or a pause.
  TrainResult advance(int64_t until) {
    const core::Stopwatch clock;
    if (rng_.defined()) set_cpu_rng_state(rng_);  // the run's own random state, kept over the pause
    until_ = until;
    core::LoopOptions lo;
    lo.epoch_label = true;
    lo.epochs = o_.epochs;
    lo.steps = batches_;
    lo.progress = o_.progress;
    lo.schedule = schedule_of(o_, batches_);
    lo.hint = "try a smaller learning rate or a longer warm-up";
    lo.max_restarts = o_.max_restarts;
    lo.report_every = lbfgs_ ? 1 : core::report_interval(o_.device);  // L-BFGS reads its loss anyway
    lo.resumed_restarts = result_.restarts;
    lo.resumed_backoff = result_.lr_factor;
    if (result_.converged_epoch == 0 && next_epoch_ <= until) {
      const auto report = core::run_loop(lo, hooks(), next_epoch_);
      result_.restarts = report.restarts;
      result_.lr_factor = report.backoff;
      if (!report.epochs.empty()) next_epoch_ = report.epochs.back().epoch + 1;
    }
    seconds_ += clock.seconds();
    result_.best_epoch = best_epoch_;
    result_.train_seconds = seconds_;
    if (!done()) {
      rng_ = cpu_rng_state();
      return result_;
    }
    finish();
    return result_;
  }

  bool done() const { return result_.converged_epoch != 0 || next_epoch_ > o_.epochs; }
  bool uses(const data::Dataset& train, const data::Dataset* validation) const {
    return &train == train_ && validation == validation_;
  }
  bool validates_on(const data::Dataset* validation) const { return validation == validation_; }

  // Trainer::continue_on: the next epochs on other data sets. The epoch has as many steps as the new training set
  // fills (the schedule keeps its place: its position is the epoch and the fraction of it done); Kernel SGD's fixed
  // partition is drawn on the new set and its inverses computed (counted as training time).
  void switch_data(const data::Dataset& train, const data::Dataset* validation) {
    train_ = &train;
    train_sample_.reset();
    validation_ = validation;
    n_ = train.size();
    batches_ = (n_ + o_.batch_size - 1) / o_.batch_size;
    if (partition_.empty()) return;
    const core::Stopwatch clock;
    draw_partition();
    prepare_partition();
    seconds_ += clock.seconds();
  }
  int64_t epochs_done() const { return next_epoch_ - 1; }
  // Trainer::checkpoint_run: the checkpoint of the last epoch trained, written between fit_until calls. A paused
  // run's random state is its own, kept over the pause (other runs may have moved the global one since).
  void write_current_checkpoint() {
    core::EpochSummary s;
    s.epoch = epochs_done();
    s.restarts = result_.restarts;
    s.backoff = result_.lr_factor;
    write_checkpoint(s, done() ? cpu_rng_state() : rng_);
  }
  std::vector<int64_t> sample_sizes() const { return train_->x.sizes().slice(1).vec(); }

 private:
  void set_up_optimizer() {
    fresh_optimizer();
    if (own_ != nullptr && own_->fixed_batches()) draw_partition();
    // L-BFGS has no weight decay of its own: add sum_p wd_p / 2 ||p||^2 to its objective.
    if (o_.optimizer == "lbfgs") {
      lbfgs_ = true;
      auto params = model_.named_parameters(true);
      for (const auto& [name, wd] : parameter_weight_decays(model_, o_))
        if (wd > 0) penalties_.emplace_back(params[name], wd);
    }
  }

  // Data parallelism (docs/DISTRIBUTED.md): every rank starts from rank 0's parameters and buffers. Kernel SGD
  // preconditions the summed gradient with the global batch's inverse kernel matrix, which every rank computes
  // from the whole batch's inputs (step); ESGD and AdaHessian sum their Hessian-vector products with the
  // gradients (optim/curvature.cpp); L-BFGS sums the objective and its gradient in every evaluation (lbfgs_step).
  void start_data_parallel() {
    std::vector<at::Tensor> state;
    for (const auto& p : model_.parameters()) state.push_back(p);
    for (const auto& b : model_.buffers()) state.push_back(b);
    dist_.broadcast(state, 0, "the initial parameters");
    overlapped_ = dist_.overlapped_gradients(model_.parameters());  // nullptr: summed after the backward pass
  }

  // The average over the global batch of each parameter's gradient: each rank's loss was scaled by its share of
  // the batch (step), so the sum over the ranks is the gradient of the global batch's mean loss.
  void reduce_gradients(int64_t batch) {
    dist_.all_reduce_gradients(model_.parameters(), "the gradients of batch " + std::to_string(batch + 1));
  }

  // Buffers that training updates from each rank's share (batch norm's running statistics) differ between the
  // ranks; rank 0's are taken before each evaluation (as DistributedDataParallel broadcasts them), so that the
  // sharded evaluation, the checkpoint and the final model all use one set.
  void sync_buffers() {
    std::vector<at::Tensor> buffers;
    for (const auto& b : model_.buffers()) buffers.push_back(b);
    if (!buffers.empty()) dist_.broadcast(buffers, 0, "the buffers (batch-norm statistics)");
  }

  // A new optimizer (no state): at the start, and when the divergence guard undoes an epoch.
  void fresh_optimizer() {
    opt_ = make_optimizer(model_, o_);
    // rkhs's own optimizers bring their per-batch needs as hooks (prepare, backward; a fixed batch partition).
    own_ = dynamic_cast<optim::OptimizerBase*>(opt_.get());
  }

  core::LoopHooks hooks() {
    core::LoopHooks h;
    if (o_.max_restarts > 0) {
      h.save = [this] { saved_ = core::copy_state(model_); };
      h.restore = [this] {
        core::assign_state(model_, saved_, "the epoch's start");
        fresh_optimizer();
        prepare_partition();
      };
    }
    h.set_lr = [this](double lr) {
      for (auto& group : opt_->param_groups()) group.options().set_lr(lr);
    };
    h.begin_pass = [this](int64_t epoch) { begin_pass(epoch); };
    h.step = [this](const core::Step& s) { return step(s); };
    h.update = [this](const core::Step&) { update(); };
    h.end_epoch = [this](core::EpochSummary& s) { return end_epoch(s); };
    return h;
  }

  // Kernel SGD's fixed batches: a partition of the training set drawn from the seed.
  void draw_partition() {
    partition_.clear();
    for (const auto& members : fixed_partition(n_, o_.batch_size, o_.seed))
      partition_.push_back(torch::tensor(members, torch::kLong));
  }

  // Kernel SGD's fixed partition: the optimizer's per-batch inverse kernel matrices.
  void prepare_partition() {
    if (partition_.empty()) return;
    std::vector<std::vector<int64_t>> members;
    for (const auto& idx : partition_) members.emplace_back(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
    own_->prepare_partition(train_->x, members, o_.device);
  }

  // Batch b of an epoch: a slice of a fresh permutation, or batch order[b] of the fixed partition.
  void begin_pass(int64_t epoch) {
    model_.train();
    meter_.clear();
    const bool fixed = !partition_.empty();
    perm_vec_ = epoch_permutation(fixed ? batches_ : n_, fixed ? o_.seed ^ kBatchOrderSalt : o_.seed, epoch);
    perm_ = torch::from_blob(perm_vec_.data(), {static_cast<int64_t>(perm_vec_.size())}, torch::kLong).clone();
  }

  // The forward pass and loss of batch s.index (the whole update for L-BFGS).
  core::StepLoss step(const core::Step& s) {
    const int64_t b = s.index;
    const int64_t batch_id = partition_.empty() ? b : perm_vec_[static_cast<size_t>(b)];
    auto idx = partition_.empty() ? perm_.slice(0, b * o_.batch_size, std::min((b + 1) * o_.batch_size, n_))
                                  : partition_[static_cast<size_t>(batch_id)];
    const int64_t global = idx.numel();
    // Kernel SGD's inverse kernel matrix is the global batch's: every rank prepares it from all the batch's inputs.
    const auto batch_inputs = [&, all = idx] { return core::batch_to(train_->x.index_select(0, all), o_.device); };
    idx = dist_.share_of(idx);  // several processes: this rank's share of the global batch
    auto xb = core::batch_to(train_->x.index_select(0, idx), o_.device);
    auto yb = core::batch_to(train_->y.index_select(0, idx).to(torch::kLong), o_.device);
    at::Tensor tb;
    if (o_.teacher_logits.defined())
      tb = o_.teacher_logits.index_select(0, idx.to(o_.teacher_logits.device())).to(o_.device);
    // The local mean times the local share (1 in one process); the sum over the ranks is the global batch's mean
    // loss, which every rank checks (the same divergence decision everywhere).
    const auto share_loss = [&, share = static_cast<double>(idx.numel()) / static_cast<double>(global)] {
      return share == 0 ? core::zero_through(model_.parameters(), torch::TensorOptions().device(o_.device))
                        : training_loss(model_.forward(xb), yb, tb, o_.distill_temperature, o_.distill_weight) * share;
    };
    if (lbfgs_) return lbfgs_step(share_loss, b);
    opt_->zero_grad();
    pending_batch_ = {dist_.active() && own_ != nullptr ? batch_inputs() : xb, batch_id};
    pending_ = share_loss();
    meter_.add(dist_.sum_over_ranks(pending_, "the loss of batch " + std::to_string(b + 1)));
    return meter_.finish(s);  // read on the CPU every step, elsewhere every LoopOptions::report_every steps
  }

  // L-BFGS on batch b: every evaluation of the closure is the global batch's objective and gradient. With
  // several processes each rank's share of the loss (rank 0 adds the penalties) is summed over the ranks with its
  // gradient, so every rank's L-BFGS sees the same values and takes the same step.
  core::StepLoss lbfgs_step(const std::function<at::Tensor()>& share_loss, int64_t b) {
    double loss_value = 0;
    bool first = true;
    auto closure = [&]() -> torch::Tensor {
      core::step_done(o_.device);
      opt_->zero_grad();
      at::Tensor loss = share_loss();
      at::Tensor total = loss;
      if (dist_.is_root())
        for (const auto& [p, wd] : penalties_) total = total + (0.5 * wd) * p.pow(2).sum();
      if (total.requires_grad()) total.backward();
      if (dist_.active()) {
        reduce_gradients(b);
        auto both = dist_.sum_over_ranks(torch::stack({loss.detach(), total.detach()}),
                                         "the L-BFGS objective of batch " + std::to_string(b + 1));
        loss = both[0], total = both[1];
      }
      if (first) {  // the objective before the step, as reported for the other optimizers
        first = false;
        loss_value = loss.item<double>();
        if (!std::isfinite(loss_value)) throw NonFiniteLoss{loss_value};  // leaves the step before any update
      }
      return total;
    };
    try {
      opt_->step(closure);
    } catch (const NonFiniteLoss& bad) {
      return core::StepLoss{bad.value};
    }
    return core::StepLoss{loss_value};
  }

  // The update of a batch whose loss passed the guard (not L-BFGS): Kernel SGD's inverse kernel matrix of the
  // batch, ESGD's and AdaHessian's gradient with its graph (Hessian-vector products by double backprop).
  void update() {
    if (!pending_.defined()) return;
    // ESGD and AdaHessian sum the gradients themselves on a step that needs their graph (OptimizerBase::needs_graph).
    const bool sums_itself = own_ != nullptr && own_->needs_graph();
    if (own_ != nullptr) own_->prepare(pending_batch_.first, pending_batch_.second);
    const auto backward = [this] {
      if (!pending_.requires_grad()) return;
      if (own_ != nullptr) {
        own_->backward(pending_);
      } else {
        pending_.backward();
      }
    };
    if (sums_itself || !dist_.active()) {
      backward();
    } else {  // several processes: summed while the backward pass runs, or after it with --no-dist-overlap
      dist_.backward_and_sum(overlapped_.get(), backward, model_.parameters(),
                             "the gradients of batch " + std::to_string(pending_batch_.second + 1));
    }
    opt_->step();
    pending_ = at::Tensor();
  }

  // The training points of an epoch's `train` metrics: all of them up to kEpochTrainPoints, else a fixed random
  // sample of that many (drawn once per training set from its own generator, so that the run's random stream is
  // untouched). Evaluating all 54,000 Fashion-MNIST images took 27% of a LeNet-5 epoch and 29% of a ResNet-20 one
  // (2026-12-07); the final metrics of a run (ClassifyResult::train) are on all points.
  const data::Dataset& epoch_train_points() {
    if (train_->size() <= kEpochTrainPoints) return *train_;
    if (!train_sample_) {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(o_.seed + 7919);
      auto idx = std::get<0>(at::randperm(train_->size(), gen, at::TensorOptions().dtype(at::kLong))
                                 .slice(0, 0, kEpochTrainPoints)
                                 .sort());
      train_sample_ = train_->subset(idx.to(train_->x.device()));
    }
    return *train_sample_;
  }

  bool end_epoch(core::EpochSummary& s) {
    EpochRecord record;
    record.epoch = s.epoch;
    record.lr = s.lr;
    record.train_loss = s.mean_loss;
    const core::Stopwatch eval_clock;
    if (dist_.active()) sync_buffers();
    record.train = trainer_.evaluate(epoch_train_points());
    if (!std::isfinite(record.train.nll))
      diverged("training NLL is " + fmt("%g", record.train.nll) + " after the last step", s.epoch, batches_, batches_, s.lr);
    if (validation_ != nullptr) record.validation = trainer_.evaluate(*validation_);
    record.seconds = s.seconds + eval_clock.seconds();  // the steps and the evaluation
    result_.history.push_back(record);
    keep_best(record);
    s.note = "loss " + fmt("%.4f", record.train_loss) + "  train acc " + fmt("%.4f", record.train.accuracy);
    if (record.validation) s.note += "  val acc " + fmt("%.4f", record.validation->accuracy);
    if (!o_.checkpoint_path.empty()) write_checkpoint(s);
    ++result_.epochs_run;
    if (o_.on_epoch) o_.on_epoch(result_.history.back());
    if (loss_converged(result_.history, o_.converge_tol, o_.converge_patience)) result_.converged_epoch = s.epoch;
    return result_.converged_epoch != 0 || s.epoch >= until_;  // the stopping rule, or a pause (fit_until)
  }

  // Model selection on validation (never test): the best epoch's state is kept; without validation, or with
  // TrainOptions::restore_best off, the last.
  void keep_best(const EpochRecord& record) {
    if (validation_ == nullptr || !o_.restore_best) {
      best_epoch_ = record.epoch;
    } else if (best_epoch_ == 0 || best_epoch_ > static_cast<int64_t>(result_.history.size()) ||
               !result_.history[best_epoch_ - 1].validation ||
               better(*record.validation, *result_.history[best_epoch_ - 1].validation)) {
      best_epoch_ = record.epoch;
      best_state_ = core::copy_state(model_);
    }
  }

  // rng: the run's CPU random state (undefined: the global one, the run's while it trains).
  void write_checkpoint(const core::EpochSummary& s, const at::Tensor& rng = {}) {
    const int64_t epoch = s.epoch;
    if (!dist_.is_root()) return;  // rank 0 alone writes (the ranks' states are equal)
    nlohmann::json meta{{"format", core::kCheckpointFormat}, {"optimizer", o_.optimizer}, {"epochs", o_.epochs},
                        {"world_size", dist_.size()},
                        {"batch_size", o_.batch_size}, {"seed", o_.seed}, {"best_epoch", best_epoch_},
                        {"lr", o_.lr}, {"train_examples", n_}, {"lr_restarts", s.restarts}, {"lr_factor", s.backoff},
                        {"history", nlohmann::json::parse(history_to_json(result_.history))}};
    if (!o_.checkpoint_note.empty()) meta["note"] = nlohmann::json::parse(o_.checkpoint_note);
    std::map<std::string, at::Tensor> extra;
    extra[kRngCpu] = rng.defined() ? rng : cpu_rng_state();
    for (const auto& [name, t] : best_state_) extra[kBestPrefix + name] = t;
    core::save_checkpoint(o_.checkpoint_path, model_, *opt_, epoch, meta.dump(), extra);
  }

  void finish() {
    if (validation_ != nullptr && o_.restore_best && !best_state_.empty())
      core::assign_state(model_, best_state_, "best validation epoch");
    model_.eval();
    result_.optimizer_state_bytes = optimizer_state_bytes(*opt_);
    if (const auto report = own_ != nullptr ? own_->preconditioner_report() : std::nullopt) {
      result_.preconditioner_bytes = report->bytes;
      result_.optimizer_state_bytes += result_.preconditioner_bytes;
      result_.preconditioner_seconds = report->seconds;
      result_.inverses = report->inverses;
      result_.pseudo_inverses = report->pseudo_inverses;
    }
  }

  Trainer& trainer_;
  core::DistWorld& dist_ = core::DistWorld::get();
  std::unique_ptr<core::OverlappedGradients> overlapped_;  // several processes, LibTorch 1.x, unless --no-dist-overlap
  classify::ClassifierImpl& model_;
  const TrainOptions& o_;
  const data::Dataset* train_;
  std::optional<data::Dataset> train_sample_;  // epoch_train_points' sample of train_, once drawn
  const data::Dataset* validation_;
  int64_t n_, batches_;  // the training set's size and steps per epoch (Trainer::continue_on may change them)
  std::unique_ptr<torch::optim::Optimizer> opt_;
  optim::OptimizerBase* own_ = nullptr;
  bool lbfgs_ = false;
  std::vector<std::pair<at::Tensor, double>> penalties_;
  std::vector<at::Tensor> partition_;  // fixed batches: sample indices of each batch
  std::vector<int64_t> perm_vec_;
  at::Tensor perm_;
  at::Tensor pending_;                            // the loss of the batch whose update is pending
  core::LossMeter meter_;                         // the losses not yet read by the loop
  std::pair<at::Tensor, int64_t> pending_batch_;  // its inputs and batch id (for OptimizerBase::prepare)
  TrainResult result_;
  int64_t best_epoch_ = 0;
  std::map<std::string, at::Tensor> best_state_;
  std::map<std::string, at::Tensor> saved_;  // the state at the start of the epoch (the divergence guard's undo)
  int64_t next_epoch_ = 1, until_ = 0;
  double seconds_ = 0;  // of the parts run so far
  at::Tensor rng_;      // the global CPU random state at the pause
};

TrainResult Trainer::fit(const data::Dataset& train, const data::Dataset* validation) {
  auto result = fit_until(train, validation, options_.epochs);
  ended_.reset();
  return result;
}

void Trainer::checkpoint_run() {
  RKHS_CHECK(run_ != nullptr || ended_ != nullptr, "checkpoint_run: no run paused or ended in fit_until");
  RKHS_CHECK(!options_.checkpoint_path.empty(), "checkpoint_run: no checkpoint path (TrainOptions)");
  (run_ != nullptr ? run_ : ended_)->write_current_checkpoint();
}

TrainResult Trainer::fit_until(const data::Dataset& train, const data::Dataset* validation, int64_t until) {
  if (run_ == nullptr) {
    ended_.reset();
    check_fit_inputs(options_, train, validation);
    run_ = std::make_shared<FitRun>(*this, *model_, options_, train, validation);
    try {
      run_->start();
    } catch (...) {
      run_.reset();
      throw;
    }
  } else {
    RKHS_CHECK(run_->uses(train, validation), "fit: a paused run continues on the data sets it started with");
  }
  RKHS_CHECK(until >= run_->epochs_done() && until <= options_.epochs,
             "fit: cannot pause at epoch " + std::to_string(until) + " of a run at epoch " +
                 std::to_string(run_->epochs_done()) + " of " + std::to_string(options_.epochs));
  try {
    auto result = run_->advance(until);
    if (run_->done()) ended_ = std::move(run_);
    return result;
  } catch (...) {
    run_.reset();  // a divergence (or any other error) ends the run
    throw;
  }
}

void Trainer::continue_on(const data::Dataset& train, const data::Dataset* validation) {
  RKHS_CHECK(run_ != nullptr, "continue_on: there is no paused run to continue");
  check_fit_inputs(options_, train, validation);
  RKHS_CHECK(!options_.teacher_logits.defined(),
             "continue_on: distillation's teacher logits belong to the training set the run started with");
  RKHS_CHECK(!options_.restore_best || run_->validates_on(validation),
             "continue_on: the best validation epoch is chosen on one validation set; keep it, or turn restore_best off");
  RKHS_CHECK(train.x.sizes().slice(1).vec() == run_->sample_sizes(),
             "continue_on: the new training set's samples have another shape");
  run_->switch_data(train, validation);
}

void Trainer::continue_with(const TrainOptions& rest) {
  options_.checkpoint_path = rest.checkpoint_path;
  options_.checkpoint_note = rest.checkpoint_note;
  options_.max_restarts = rest.max_restarts;
  options_.on_epoch = rest.on_epoch;
  options_.progress = rest.progress;
}

namespace {

template <typename F>
at::Tensor batched_forward(classify::ClassifierImpl& model, const data::Dataset& dataset, c10::Device device, F f) {
  torch::NoGradGuard no_grad;
  model.to(device);
  model.eval();
  const int64_t n = dataset.size();
  RKHS_CHECK(n > 0, "cannot evaluate on the empty data set '" + dataset.name + "'");
  // Data-parallel: each rank forwards its shard of the rows; every rank gets all of them back.
  auto& dist = core::DistWorld::get();
  const auto [begin, end] = core::shard_range(n, dist.rank(), dist.size());
  std::vector<at::Tensor> parts;
  for (int64_t s = begin; s < end; s += kEvalBatch) {
    auto xb = dataset.x.slice(0, s, std::min(s + kEvalBatch, end)).to(device);
    parts.push_back(f(xb).to(torch::kCPU));
  }
  if (!dist.active()) return parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
  // A rank whose shard is empty still needs the row shape: the forward of the first row, without its rows.
  auto local = parts.empty() ? f(dataset.x.slice(0, 0, 1).to(device)).to(torch::kCPU).slice(0, 0, 0) : torch::cat(parts, 0);
  return dist.all_gather_rows(local, "the outputs on '" + dataset.name + "'");
}

}  // namespace

Metrics Trainer::evaluate(const data::Dataset& dataset) {
  if (dataset.size() == 0) return Metrics{};
  return compute_metrics(predict_logits(dataset), dataset.y);
}

at::Tensor Trainer::predict_logits(const data::Dataset& dataset) {
  return batched_forward(*model_, dataset, options_.device, [this](const at::Tensor& x) { return model_->forward(x); });
}

at::Tensor Trainer::embed(const data::Dataset& dataset) {
  return batched_forward(*model_, dataset, options_.device, [this](const at::Tensor& x) { return model_->embed(x); });
}

}  // namespace rkhs::train
