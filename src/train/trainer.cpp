#include "rkhs/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "rkhs/error.h"
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/optim/kernel_sgd.h"
#include "rkhs/train/batches.h"
#include "rkhs/train/checkpoint.h"
#include "rkhs/train/loss.h"
#include "rkhs/train/optimizer.h"
#include "rkhs/train/progress.h"
#include "rkhs/train/schedule.h"
#include "rkhs/train/state.h"

namespace rkhs::train {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kEvalBatch = 1024;
constexpr const char* kBestPrefix = "best/";
constexpr const char* kRngCpu = "rng/cpu";

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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
  throw Error("training diverged: " + what + " at epoch " + std::to_string(epoch) + ", batch " +
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

constexpr uint64_t kBatchOrderSalt = 0x6b65726e656c7367ULL;  // fixed-partition batch order per epoch

}  // namespace

Trainer::Trainer(std::shared_ptr<classify::ClassifierImpl> model, TrainOptions options)
    : model_(std::move(model)), options_(std::move(options)) {
  RKHS_CHECK(model_ != nullptr, "Trainer: the model is null");
}

TrainResult Trainer::fit(const data::Dataset& train, const data::Dataset* validation) {
  const TrainOptions& o = options_;
  const int64_t n = train.size();
  RKHS_CHECK(n > 0, "fit: the training set '" + train.name + "' is empty");
  RKHS_CHECK(train.y.defined() && train.y.dim() == 1 && train.y.size(0) == n,
             "fit: training labels must be (n,) with n = " + std::to_string(n));
  RKHS_CHECK(o.batch_size > 0, "fit: batch size must be positive, got " + std::to_string(o.batch_size));
  RKHS_CHECK(o.epochs >= 0, "fit: epochs must be >= 0, got " + std::to_string(o.epochs));
  if (validation != nullptr) RKHS_CHECK(validation->size() > 0, "fit: the validation set is empty");
  const bool distill = o.teacher_logits.defined();
  if (distill) {
    RKHS_CHECK(o.teacher_logits.dim() == 2 && o.teacher_logits.size(0) == n,
               "fit: teacher logits must be (n_train, C) with n_train = " + std::to_string(n));
    RKHS_CHECK(o.distill_temperature > 0, "fit: distillation temperature must be positive");
    RKHS_CHECK(o.distill_weight >= 0 && o.distill_weight <= 1, "fit: distillation weight must be in [0, 1]");
  }
  const int64_t batches = (n + o.batch_size - 1) / o.batch_size;
  lr_at(o, 0, batches);  // rejects an unknown schedule before any work

  model_->to(o.device);
  auto opt = make_optimizer(*model_, o);
  const bool lbfgs = o.optimizer == "lbfgs";
  RKHS_CHECK(o.converge_patience > 0, "fit: converge_patience must be positive");
  auto* own = dynamic_cast<optim::OptimizerBase*>(opt.get());
  auto* kernel_sgd = dynamic_cast<optim::KernelSGD*>(opt.get());
  std::unique_ptr<optim::KernelPreconditioner> preconditioner;
  std::vector<at::Tensor> partition;  // fixed batches (Kernel SGD): sample indices of each batch
  c10::ScalarType param_dtype = torch::kFloat32;
  if (kernel_sgd != nullptr) {
    preconditioner = std::make_unique<optim::KernelPreconditioner>(
        optim::PreconditionerOptions{o.kernel_sgd.kernel, o.kernel_sgd.damping, o.seed});
    param_dtype = kernel_sgd_parameters(*model_, o.kernel_sgd.all_layers).front().scalar_type();
    if (o.kernel_sgd.fixed_batches)
      for (const auto& members : fixed_partition(n, o.batch_size, o.seed))
        partition.push_back(torch::tensor(members, torch::kLong));
  }
  // L-BFGS has no weight decay of its own: add sum_p wd_p / 2 ||p||^2 to its objective.
  std::vector<std::pair<at::Tensor, double>> penalties;
  if (lbfgs) {
    auto params = model_->named_parameters(true);
    for (const auto& [name, wd] : parameter_weight_decays(*model_, o))
      if (wd > 0) penalties.emplace_back(params[name], wd);
  }

  TrainResult result;
  int64_t best_epoch = 0;
  std::map<std::string, at::Tensor> best_state;
  int64_t first_epoch = 1;
  std::error_code ec;
  if (o.resume && !o.checkpoint_path.empty() && std::filesystem::exists(o.checkpoint_path, ec)) {
    CheckpointInfo info = load_checkpoint(o.checkpoint_path, *model_, *opt);
    try {
      auto meta = nlohmann::json::parse(info.meta_json);
      result.history = history_from_json(meta.at("history").dump());
      best_epoch = meta.at("best_epoch").get<int64_t>();
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
      if (key.rfind(kBestPrefix, 0) == 0) best_state[key.substr(std::char_traits<char>::length(kBestPrefix))] = t;
      if (key == kRngCpu) set_cpu_rng_state(t);
    }
    if (!best_state.empty()) check_state(*model_, best_state, "checkpoint " + o.checkpoint_path + " (best epoch)");
    RKHS_CHECK(info.epoch <= o.epochs, "checkpoint " + o.checkpoint_path + " has " + std::to_string(info.epoch) +
                                           " epochs, more than the " + std::to_string(o.epochs) + " asked for");
    first_epoch = info.epoch + 1;
  }

  const auto fit_start = Clock::now();
  if (preconditioner && !partition.empty()) {
    std::vector<std::vector<int64_t>> members;
    for (const auto& idx : partition) members.emplace_back(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
    preconditioner->precompute(train.x, members, param_dtype, o.device);
  }
  if (loss_converged(result.history, o.converge_tol, o.converge_patience))  // a resumed, already converged run
    result.converged_epoch = static_cast<int64_t>(result.history.size());
  for (int64_t epoch = first_epoch; epoch <= o.epochs && result.converged_epoch == 0; ++epoch) {
    const auto epoch_start = Clock::now();
    model_->train();
    // Batch b of this epoch: a slice of a fresh permutation, or batch order[b] of the fixed partition.
    auto perm_vec = epoch_permutation(partition.empty() ? n : batches, partition.empty() ? o.seed : o.seed ^ kBatchOrderSalt, epoch);
    auto perm = torch::from_blob(perm_vec.data(), {static_cast<int64_t>(perm_vec.size())}, torch::kLong).clone();
    Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs), batches, o.progress);
    double loss_sum = 0;
    double lr = o.lr;
    for (int64_t b = 0; b < batches; ++b) {
      lr = lr_at(o, (epoch - 1) * batches + b, batches);
      for (auto& group : opt->param_groups()) group.options().set_lr(lr);
      const int64_t batch_id = partition.empty() ? b : perm_vec[static_cast<size_t>(b)];
      auto idx = partition.empty() ? perm.slice(0, b * o.batch_size, std::min((b + 1) * o.batch_size, n))
                                   : partition[static_cast<size_t>(batch_id)];
      auto xb = train.x.index_select(0, idx).to(o.device);
      auto yb = train.y.index_select(0, idx).to(o.device, torch::kLong);
      at::Tensor tb;
      if (distill) tb = o.teacher_logits.index_select(0, idx.to(o.teacher_logits.device())).to(o.device);
      double loss_value = 0;
      if (lbfgs) {
        bool first = true;
        auto closure = [&]() -> torch::Tensor {
          opt->zero_grad();
          auto loss = training_loss(model_->forward(xb), yb, tb, o.distill_temperature, o.distill_weight);
          if (first) {  // the objective before the step, as reported for the other optimizers
            first = false;
            loss_value = loss.item<double>();
            if (!std::isfinite(loss_value)) diverged("loss is " + fmt("%g", loss_value), epoch, b + 1, batches, lr);
          }
          auto total = loss;
          for (const auto& [p, wd] : penalties) total = total + (0.5 * wd) * p.pow(2).sum();
          total.backward();
          return total;
        };
        opt->step(closure);
      } else {
        opt->zero_grad();
        auto loss = training_loss(model_->forward(xb), yb, tb, o.distill_temperature, o.distill_weight);
        loss_value = loss.item<double>();
        if (!std::isfinite(loss_value)) diverged("loss is " + fmt("%g", loss_value), epoch, b + 1, batches, lr);
        if (kernel_sgd != nullptr)
          kernel_sgd->set_inverse(preconditioner->has_cache() ? preconditioner->cached(batch_id)
                                                             : preconditioner->inverse(xb, batch_id).to(param_dtype));
        // ESGD and AdaHessian need the gradient's graph for Hessian-vector products by double backprop.
        if (own != nullptr) {
          own->backward(loss);
        } else {
          loss.backward();
        }
        opt->step();
      }
      loss_sum += loss_value;
      progress.update(b + 1, "loss " + fmt("%.4f", loss_sum / static_cast<double>(b + 1)));
    }

    EpochRecord record;
    record.epoch = epoch;
    record.lr = lr;
    record.train_loss = loss_sum / static_cast<double>(batches);
    record.train = evaluate(train);
    if (!std::isfinite(record.train.nll))
      diverged("training NLL is " + fmt("%g", record.train.nll) + " after the last step", epoch, batches, batches, lr);
    if (validation != nullptr) record.validation = evaluate(*validation);
    record.seconds = seconds_since(epoch_start);
    result.history.push_back(record);

    if (validation == nullptr) {
      best_epoch = epoch;
    } else if (best_epoch == 0 || best_epoch > static_cast<int64_t>(result.history.size()) ||
               !result.history[best_epoch - 1].validation ||
               better(*record.validation, *result.history[best_epoch - 1].validation)) {
      best_epoch = epoch;
      best_state = copy_state(*model_);
    }

    std::string suffix = "loss " + fmt("%.4f", record.train_loss) + "  train acc " + fmt("%.4f", record.train.accuracy);
    if (record.validation) suffix += "  val acc " + fmt("%.4f", record.validation->accuracy);
    progress.update(batches, suffix);
    progress.finish();

    if (!o.checkpoint_path.empty()) {
      nlohmann::json meta{{"format", kCheckpointFormat}, {"optimizer", o.optimizer},   {"epochs", o.epochs},
                          {"batch_size", o.batch_size},  {"seed", o.seed},             {"best_epoch", best_epoch},
                          {"lr", o.lr},                  {"train_examples", n},
                          {"history", nlohmann::json::parse(history_to_json(result.history))}};
      std::map<std::string, at::Tensor> extra;
      extra[kRngCpu] = cpu_rng_state();
      for (const auto& [name, t] : best_state) extra[kBestPrefix + name] = t;
      save_checkpoint(o.checkpoint_path, *model_, *opt, epoch, meta.dump(), extra);
    }
    ++result.epochs_run;
    if (o.on_epoch) o.on_epoch(record);
    if (loss_converged(result.history, o.converge_tol, o.converge_patience)) result.converged_epoch = epoch;
  }

  if (validation != nullptr && !best_state.empty()) assign_state(*model_, best_state, "best validation epoch");
  model_->eval();
  result.best_epoch = best_epoch;
  result.train_seconds = seconds_since(fit_start);
  result.optimizer_state_bytes = optimizer_state_bytes(*opt);
  if (preconditioner) {
    result.preconditioner_bytes = preconditioner->bytes();
    result.optimizer_state_bytes += result.preconditioner_bytes;
    result.preconditioner_seconds = preconditioner->seconds();
    result.inverses = preconditioner->inverses_computed();
    result.pseudo_inverses = preconditioner->pseudo_inverses();
  }
  return result;
}

namespace {

template <typename F>
at::Tensor batched_forward(classify::ClassifierImpl& model, const data::Dataset& dataset, c10::Device device, F f) {
  torch::NoGradGuard no_grad;
  model.to(device);
  model.eval();
  const int64_t n = dataset.size();
  RKHS_CHECK(n > 0, "cannot evaluate on the empty data set '" + dataset.name + "'");
  std::vector<at::Tensor> parts;
  for (int64_t s = 0; s < n; s += kEvalBatch) {
    auto xb = dataset.x.slice(0, s, std::min(s + kEvalBatch, n)).to(device);
    parts.push_back(f(xb).to(torch::kCPU));
  }
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
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
