#include "rkhs/jobs/classify_job.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "rkhs/classify/active.h"
#include "rkhs/classify/model.h"
#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/core/run_folder.h"
#include "rkhs/core/checkpoint.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/data/transform.h"
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/train/history.h"

namespace rkhs::jobs {
namespace {

using nlohmann::json;

std::shared_ptr<classify::ClassifierImpl> build_model(const ClassifyConfig& c, const nn::BackboneOptions& bo,
                                                      classify::HeadOptions ho) {
  auto backbone = nn::make_backbone(bo);
  ho.dim = backbone->output_dim();
  auto head = classify::make_head(ho);
  return std::make_shared<classify::ClassifierImpl>(backbone, head);
}

int64_t count_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

json metrics_json(const train::Metrics& m) {
  return {{"accuracy", m.accuracy}, {"nll", m.nll}, {"ece", m.ece}, {"n", m.n}};
}

// Trains a model of the given architecture on `train` and returns it with its trainer (teacher, seed model).
std::pair<std::shared_ptr<classify::ClassifierImpl>, train::TrainResult> train_model(
    const ClassifyConfig& c, const nn::BackboneOptions& bo, const classify::HeadOptions& ho,
    train::TrainOptions opts, const data::Dataset& train, const data::Dataset* validation) {
  torch::manual_seed(opts.seed);
  auto model = build_model(c, bo, ho);
  train::Trainer trainer(model, opts);
  auto fit = trainer.fit(train, validation);
  return {model, fit};
}

bool is_kernelized(const std::string& head) { return head == "kernelized" || head == "kcl"; }

// One candidate of the search: a head (its coefficient activation) and a rate, trained in parts on fit_part.
struct Candidate {
  classify::HeadOptions head;
  double lr = 0;
  std::shared_ptr<classify::ClassifierImpl> model;
  std::unique_ptr<train::Trainer> trainer;
  train::TrainResult fit;  // the run so far
  SearchCandidate record;  // what the JSON reports
};

// The candidates: every rate of lr_search_factors, for the kernelized head with activation_search every activation
// of activation_candidates with each rate.
std::vector<Candidate> search_candidates(const ClassifyConfig& c) {
  std::vector<std::string> activations = {c.head.activation};
  if (c.activation_search && is_kernelized(c.head.name)) activations = c.activation_candidates;
  std::vector<Candidate> out;
  for (const auto& activation : activations)
    for (double factor : c.lr_search_factors) {
      Candidate k;
      k.head = c.head;
      k.head.activation = activation;
      k.lr = factor * c.train.lr;
      k.record.lr = k.lr;
      if (activations.size() > 1) k.record.activation = activation;
      out.push_back(std::move(k));
    }
  return out;
}

// The epochs at which successive halving keeps the better half (rounded up) of n candidates: one rung per halving
// until one is left, the last at half the run and each earlier one at half the next (rounded down, at least 1), so a
// candidate that survives the rung at e has been trained e epochs and the survivor goes on to the end of its run.
// The candidates' epochs add up to at most about n E / 2^h + ... + E: 2 runs for n = 4, 2.5 for n = 12 (1.9 and
// 2.6 at 10 epochs; docs/CLI.md).
std::vector<int64_t> halving_rungs(int64_t n, int64_t epochs) {
  int64_t halvings = 0;
  for (int64_t k = n; k > 1; k = (k + 1) / 2) ++halvings;
  std::vector<int64_t> rungs;
  for (int64_t i = halvings; i >= 1; --i) rungs.push_back(std::max<int64_t>(1, epochs >> i));
  return rungs;
}

// Trains candidate k up to epoch `until` on fit_part and scores it by its validation metrics at that epoch; a
// divergence scores NaN and ends the candidate (any other error ends the run).
void advance_candidate(const ClassifyConfig& c, Candidate& k, int64_t until, const data::Dataset& fit_part,
                       const data::Dataset& validation, std::string& last_error) {
  if (k.trainer == nullptr) {
    train::TrainOptions o = c.train;
    o.lr = k.lr;
    o.checkpoint_path.clear();
    o.resume = false;
    o.on_epoch = nullptr;
    o.max_restarts = 0;  // a rate that diverges is a rate the search should not pick
    o.progress = false;
    torch::manual_seed(o.seed);  // every candidate starts from the same initialisation
    k.model = build_model(c, c.backbone, k.head);
    k.trainer = std::make_unique<train::Trainer>(k.model, o);
  }
  if (until == 0) return;  // a search of one candidate: nothing to score
  if (!k.fit.history.empty() && !k.trainer->paused()) return;  // its run has ended (one epoch; the stopping rule)
  try {
    k.fit = k.trainer->fit_until(fit_part, &validation, until);
    const auto& best = *k.fit.history.back().validation;  // the state that goes on if it is kept
    k.record.epochs = k.fit.history.back().epoch;
    k.record.validation_accuracy = best.accuracy;
    k.record.validation_nll = std::isfinite(best.nll) ? best.nll : std::nan("");
    if (std::isnan(k.record.validation_nll)) k.record.validation_accuracy = std::nan("");
  } catch (const DivergenceError& e) {
    last_error = e.what();
    k.record.validation_accuracy = k.record.validation_nll = std::nan("");
    k.trainer.reset();
  }
  if (c.train.progress)
    std::fprintf(stderr, "search: lr %g%s, epoch %lld: validation accuracy %s\n", k.lr,
                 k.record.activation.empty() ? "" : (", activation " + k.record.activation).c_str(),
                 (long long)until,
                 std::isnan(k.record.validation_accuracy) ? "- (diverged)"
                                                          : std::to_string(k.record.validation_accuracy).c_str());
}

// Higher accuracy wins; ties go to the lower NLL; a diverged candidate (NaN) never wins.
bool better(const SearchCandidate& a, const SearchCandidate& b) {
  if (std::isnan(a.validation_accuracy)) return false;
  if (std::isnan(b.validation_accuracy)) return true;
  return a.validation_accuracy > b.validation_accuracy ||
         (a.validation_accuracy == b.validation_accuracy && a.validation_nll < b.validation_nll);
}

// ClassifyConfig::lr_search by successive halving (one run per candidate, continued while it stays in the better
// half). Returns the search's record and the survivor, paused after the last rung, to be trained to the end.
std::pair<LrSearch, Candidate> search_lr(const ClassifyConfig& c, const data::Dataset& fit_part,
                                         const data::Dataset& validation, bool held_out) {
  LrSearch s;
  const core::Stopwatch clock;
  ClassifyConfig shared = c;
  // The survivor becomes the final model: with the run's validation split it keeps its best validation epoch (tracked
  // from the start), with the search's own hold-out its last.
  shared.train.restore_best = !held_out;
  if (c.train.optimizer == "kernel-sgd")  // one set of Kernel SGD inverses for every candidate
    shared.train.kernel_sgd.shared = std::make_shared<optim::KernelPreconditioner>(
        optim::PreconditionerOptions{c.train.kernel_sgd.kernel, c.train.kernel_sgd.damping, c.train.seed});
  s.held_out = held_out;
  s.validation_size = validation.size();
  std::vector<Candidate> all = search_candidates(c);
  s.rungs = halving_rungs(static_cast<int64_t>(all.size()), c.train.epochs);
  std::vector<size_t> alive(all.size());  // indices into `all`, from the previous rung's best
  std::iota(alive.begin(), alive.end(), size_t{0});
  std::string last_error;
  for (int64_t rung : s.rungs) {
    for (size_t i : alive)  // the ones still training (a diverged candidate has a model and no trainer)
      if (all[i].trainer != nullptr || all[i].model == nullptr)
        advance_candidate(shared, all[i], rung, fit_part, validation, last_error);
    std::stable_sort(alive.begin(), alive.end(),
                     [&](size_t a, size_t b) { return better(all[a].record, all[b].record); });
    const size_t keep = (alive.size() + 1) / 2;
    for (size_t r = keep; r < alive.size(); ++r) all[alive[r]].trainer.reset();  // a run that stops here
    alive.resize(keep);
  }
  Candidate& survivor = all[alive.front()];
  if (s.rungs.empty()) advance_candidate(shared, survivor, 0, fit_part, validation, last_error);
  RKHS_CHECK(survivor.trainer != nullptr,
             "learning-rate search: training diverged with every candidate tried: " + last_error);
  for (const auto& k : all) s.candidates.push_back(k.record);
  s.chosen = survivor.lr;
  s.chosen_activation = survivor.record.activation;
  s.seconds = clock.seconds();
  return {std::move(s), std::move(survivor)};
}

// Distillation (paper §6.4): a softmax teacher on the named backbone, trained on the same data; its test metrics go
// into res and its logits on the training data into config.train.teacher_logits.
void train_teacher(ClassifyConfig& config, const DataSplit& data, const data::Dataset* validation, ClassifyResult& res) {
  nn::BackboneOptions tb = config.backbone;
  tb.name = config.distill_from;
  classify::HeadOptions th;
  th.name = "softmax";
  th.classes = config.head.classes;
  train::TrainOptions to = config.train;
  to.epochs = config.teacher_epochs > 0 ? config.teacher_epochs : config.train.epochs;
  to.checkpoint_path = config.teacher_checkpoint;
  to.resume = !config.teacher_checkpoint.empty();
  to.on_epoch = nullptr;
  auto [teacher, teacher_fit] = train_model(config, tb, th, to, data.train, validation);
  train::Trainer tt(teacher, to);
  res.teacher_test = tt.evaluate(data.test);
  config.train.teacher_logits = tt.predict_logits(data.train);
}

// Active learning (appendix C): a seed model on a random subset, then a selection without using labels; returns
// the seed points and the selected ones.
data::Dataset select_active(const ClassifyConfig& config, const DataSplit& data, const data::Dataset* validation) {
  RKHS_CHECK(config.active_seed_fraction > 0 && config.active_budget > 0 &&
                 config.active_seed_fraction + config.active_budget <= 1,
             "--active-seed-fraction and --active-budget must be > 0 with a sum <= 1");
  const int64_t n = data.train.size();
  const int64_t n_seed = std::max<int64_t>(1, static_cast<int64_t>(config.active_seed_fraction * n));
  const int64_t n_budget = std::max<int64_t>(1, static_cast<int64_t>(config.active_budget * n));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(config.train.seed + 12345);
  auto seed_idx = torch::randperm(n, gen, torch::kLong).slice(0, 0, n_seed);
  train::TrainOptions so = config.train;
  so.checkpoint_path.clear();
  so.on_epoch = nullptr;
  auto [seed_model, seed_fit] =
      train_model(config, config.backbone, config.head, so, data.train.subset(seed_idx), validation);
  train::Trainer st(seed_model, so);
  auto labelled = torch::zeros({n}, torch::kBool);
  labelled.index_fill_(0, seed_idx, true);
  auto picked = classify::select_subset(config.active, st.predict_logits(data.train), st.embed(data.train), labelled,
                                        n_budget, config.train.seed);
  return data.train.subset(torch::cat({seed_idx, picked}));
}

// The configuration as run, for the JSON ("config").
json config_json(const ClassifyConfig& c) {
  return {{"data", c.data.spec},
         {"test", c.data.test_spec},
         {"test_fraction", c.data.test_fraction},
         {"validation_fraction", c.data.validation_fraction},
         {"train_size", c.data.train_size},
         {"test_size", c.data.test_size},
         {"standardize", c.data.standardize},
         {"model", c.backbone.name},
         {"hidden", c.backbone.hidden},
         {"final_relu", c.backbone.final_relu},
         {"grid_layers", c.backbone.grid_layers},
         {"head", c.head.name},
         {"order", c.head.order},
         {"activation", c.head.activation},
         {"temperature", c.head.temperature},
         {"alpha_weight_decay", c.head.alpha_weight_decay},
         {"indicator_eps", c.head.indicator_eps},
         {"normalize", c.head.normalize},
         {"sigma", c.head.sigma},
         {"poly_degree", c.head.poly_degree},
         {"gamma", c.head.gamma},
         {"kervo_degree", c.head.kervo_degree},
         {"optimizer", c.train.optimizer},
         {"lr", c.train.lr},  // as given (the search's base rate with lr_search)
         {"lr_search", c.lr_search},
         {"momentum", c.train.momentum},
         {"weight_decay", c.train.weight_decay},
         {"epochs", c.train.epochs},
         {"min_steps", c.min_steps},
         {"batch_size", c.train.batch_size},
         {"schedule", c.train.schedule},
         {"warmup_epochs", c.train.warmup_epochs},
         {"step_size", c.train.step_size},
         {"step_gamma", c.train.step_gamma},
         {"lbfgs_history", c.train.lbfgs_history},
         {"kernel", c.train.kernel_sgd.kernel},
         {"kernel_sgd_mode", c.train.kernel_sgd.mode},
         {"kernel_sgd_damping", c.train.kernel_sgd.damping},
         {"kernel_sgd_fixed_batches", c.train.kernel_sgd.fixed_batches},
         {"kernel_sgd_all_layers", c.train.kernel_sgd.all_layers},
         {"kernel_sgd_momentum", c.train.kernel_sgd.momentum},
         {"esgd_update_every", c.train.esgd_update_every},
         {"esgd_damping", c.train.esgd_damping},
         {"adahessian_eps", c.train.adahessian_eps},
         {"adahessian_power", c.train.adahessian_power},
         {"converge_tol", c.train.converge_tol},
         {"converge_patience", c.train.converge_patience},
         {"seed", c.train.seed},
         {"distill_from", c.distill_from},
         {"teacher_epochs", c.teacher_epochs},
         {"teacher_checkpoint", c.teacher_checkpoint},
         {"distill_temperature", c.train.distill_temperature},
         {"distill_weight", c.train.distill_weight},
         {"active", c.active},
         {"active_seed_fraction", c.active_seed_fraction},
         {"active_budget", c.active_budget}};
}

// Whether ClassifyConfig::lr_search applies (not with distillation). A resumed run repeats the (deterministic)
// search to find the rate its checkpoint was trained with; a missing, corrupt or foreign checkpoint is reported
// before the search rather than after it.
bool check_search(const ClassifyConfig& c) {
  if (!c.lr_search || !c.distill_from.empty()) return false;
  std::error_code ec;
  if (c.train.resume && std::filesystem::exists(c.train.checkpoint_path, ec))
    core::read_checkpoint_meta(c.train.checkpoint_path);
  RKHS_CHECK(!c.lr_search_factors.empty(), "learning-rate search: no rates to try");
  for (double f : c.lr_search_factors)
    RKHS_CHECK(std::isfinite(f) && f > 0, "learning-rate search: the factors must be positive numbers");
  return true;
}

json lr_search_json(const LrSearch& s) {
  auto finite_or_null = [](double x) { return std::isnan(x) ? json(nullptr) : json(x); };
  json candidates = json::array();
  std::vector<double> rates;
  std::vector<std::string> activations;
  for (const auto& k : s.candidates) {
    candidates.push_back({{"lr", k.lr},
                          {"activation", k.activation},
                          {"epochs", k.epochs},
                          {"validation_accuracy", finite_or_null(k.validation_accuracy)},
                          {"validation_nll", finite_or_null(k.validation_nll)}});
    if (std::find(rates.begin(), rates.end(), k.lr) == rates.end()) rates.push_back(k.lr);
    if (!k.activation.empty() && std::find(activations.begin(), activations.end(), k.activation) == activations.end())
      activations.push_back(k.activation);
  }
  return {{"method", "successive halving"}, {"rates", rates},         {"activations", activations},
          {"rungs", s.rungs},               {"candidates", candidates}, {"validation_size", s.validation_size},
          {"held_out", s.held_out},
          {"held_out_joins_after_epoch", s.held_out_joins_after ? json(*s.held_out_joins_after) : json(nullptr)},
          {"from_checkpoint", s.from_checkpoint}};
}

// What a checkpoint of the search's final model carries (TrainOptions::checkpoint_note) so that --resume need not
// search again: the search's record and choice.
json search_note(const LrSearch& s) {
  return {{"lr_search", lr_search_json(s)},
          {"chosen", s.chosen},
          {"chosen_activation", s.chosen_activation},
          {"seconds", s.seconds}};
}

LrSearch search_from_note(const json& note) {
  const auto number_or_nan = [](const json& x) { return x.is_null() ? std::nan("") : x.get<double>(); };
  const json& j = note.at("lr_search");
  LrSearch s;
  for (const auto& k : j.at("candidates"))
    s.candidates.push_back({k.at("lr").get<double>(), k.at("activation").get<std::string>(),
                            k.at("epochs").get<int64_t>(), number_or_nan(k.at("validation_accuracy")),
                            number_or_nan(k.at("validation_nll"))});
  s.rungs = j.at("rungs").get<std::vector<int64_t>>();
  s.validation_size = j.at("validation_size").get<int64_t>();
  s.held_out = j.at("held_out").get<bool>();
  if (!j.at("held_out_joins_after_epoch").is_null()) s.held_out_joins_after = j.at("held_out_joins_after_epoch").get<int64_t>();
  s.chosen = note.at("chosen").get<double>();
  s.chosen_activation = note.at("chosen_activation").get<std::string>();
  s.seconds = note.at("seconds").get<double>();
  s.from_checkpoint = true;
  return s;
}

// --resume of a checkpoint that the search's final model wrote: the search it recorded (for the same candidates),
// which is not run again. nullopt for a fresh run, a run without the search, or a checkpoint without the record.
std::optional<LrSearch> search_in_checkpoint(const ClassifyConfig& c) {
  std::error_code ec;
  const std::string& path = c.train.checkpoint_path;
  if (!c.train.resume || !std::filesystem::exists(path, ec)) return std::nullopt;
  const json meta = json::parse(core::read_checkpoint_meta(path));
  if (!meta.contains("note") || !meta.at("note").contains("lr_search")) return std::nullopt;
  LrSearch s;
  try {
    s = search_from_note(meta.at("note"));
  } catch (const json::exception& e) {
    throw Error("checkpoint " + path + ": invalid record of the learning-rate search: " + e.what());
  }
  const auto tried = search_candidates(c);
  bool same = tried.size() == s.candidates.size();
  for (size_t i = 0; same && i < tried.size(); ++i)
    same = tried[i].record.lr == s.candidates[i].lr && tried[i].record.activation == s.candidates[i].activation;
  RKHS_CHECK(same, "checkpoint " + path + " was written after a learning-rate search over other candidates "
                   "(rates or activations); resume with the same options");
  return s;
}

// The search (ClassifyConfig::lr_search), or its record in the checkpoint being resumed. Without the run's validation
// split its 10% hold-out of the training part goes into `held` (fit_part: the other 90%). Returns the survivor of a
// search run here (none when the record was read).
std::optional<Candidate> search_or_record(const ClassifyConfig& config, const data::Dataset& train_set,
                                          const data::Dataset* validation, data::Dataset& fit_part,
                                          data::Dataset& held, ClassifyResult& res) {
  if (!check_search(config)) return std::nullopt;
  if (validation == nullptr) std::tie(fit_part, held) = data::stratified_split(train_set, 0.1, config.train.seed);
  if (auto recorded = search_in_checkpoint(config)) {  // resuming the final model: the choice is made
    RKHS_CHECK(recorded->held_out == (validation == nullptr),
               "checkpoint " + config.train.checkpoint_path + " was written by a run " +
                   (recorded->held_out ? "without" : "with") + " a validation split; resume with the same data options");
    res.lr_search = std::move(recorded);
    return std::nullopt;
  }
  auto [search, survivor] = search_lr(config, fit_part, validation != nullptr ? *validation : held, validation == nullptr);
  search.seconds -= survivor.fit.train_seconds;  // the survivor's epochs so far are the final model's training
  res.lr_search = std::move(search);
  return std::move(survivor);
}

// The final model: without --lr the search's survivor goes on; else, or when resuming a checkpoint, a fresh model.
// Without a validation split the search held out 10% of the training part, which joins the training set after the
// last rung (the choice is made; the final model keeps its last epoch). Fills res's metrics.
std::shared_ptr<classify::ClassifierImpl> train_final(ClassifyConfig& config, const data::Dataset& train_set,
                                                      const data::Dataset* validation, const data::Dataset& test,
                                                      ClassifyResult& res) {
  data::Dataset fit_part = train_set, held;
  std::optional<Candidate> survivor = search_or_record(config, train_set, validation, fit_part, held, res);
  train::TrainOptions final_options = config.train;  // config.train.lr stays the search's base rate
  // The best validation epoch is kept with the run's own validation split; the search's hold-out chose the candidate
  // and is not used again to stop early (on small sets its few points favour an early, noisy epoch).
  final_options.restore_best = validation != nullptr;
  std::error_code ec;
  const bool resuming = final_options.resume && std::filesystem::exists(final_options.checkpoint_path, ec);
  // The survivor's run may have ended in the search (its last rung was its last epoch): it is the final model.
  const bool ended = survivor && !resuming && !survivor->fit.history.empty() && !survivor->trainer->paused();
  if (res.lr_search) {
    auto& s = *res.lr_search;
    final_options.lr = s.chosen;
    if (!s.chosen_activation.empty()) config.head.activation = s.chosen_activation;
    if (s.held_out && !ended && !s.from_checkpoint) s.held_out_joins_after = s.rungs.empty() ? 0 : s.rungs.back();
    final_options.checkpoint_note = search_note(s).dump();
  }
  const bool joined = res.lr_search && res.lr_search->held_out_joins_after;
  const data::Dataset* fit_on = joined ? &train_set : &fit_part;
  const data::Dataset* fit_validation = validation != nullptr ? validation : (res.lr_search && !joined ? &held : nullptr);
  std::shared_ptr<classify::ClassifierImpl> model;
  std::unique_ptr<train::Trainer> trainer;
  if (survivor && !resuming) {
    model = survivor->model;
    trainer = std::move(survivor->trainer);
    trainer->continue_with(final_options);
    if (joined && trainer->paused()) trainer->continue_on(train_set, nullptr);
    res.fit = survivor->fit;
    // The search's outcome, kept at once: a run stopped in the final model's first epoch resumes from the last rung
    // instead of searching again (an ended run's file is the one fit() would have written).
    if (!final_options.checkpoint_path.empty() && !res.lr_search->rungs.empty()) trainer->checkpoint_run();
  } else {
    torch::manual_seed(config.train.seed);
    model = build_model(config, config.backbone, config.head);
    trainer = std::make_unique<train::Trainer>(model, final_options);
  }
  if (!ended) res.fit = trainer->fit(*fit_on, fit_validation);
  res.labelled = train_set.size();
  res.trained_on = fit_on->size();
  const int64_t before_join = joined && survivor && !resuming ? *res.lr_search->held_out_joins_after : 0;
  res.examples_seen = fit_part.size() * before_join + fit_on->size() * (res.fit.epochs_run - before_join);
  res.train = trainer->evaluate(*fit_on);
  res.test = trainer->evaluate(test);
  if (fit_validation) res.validation = trainer->evaluate(*fit_validation);
  return model;
}

}  // namespace

void resolve_defaults(ClassifyConfig& c, const DataSplit& d) {
  const auto shape = d.train.sample_shape();
  if (c.backbone.name.empty())
    c.backbone.name = c.data.spec == "sphere" ? "identity" : (shape.size() == 3 ? "lenet5" : "mlp");
  c.backbone.input_shape = shape;
  c.head.classes = d.train.num_classes;
  const int64_t steps_per_epoch = (d.train.size() + c.train.batch_size - 1) / c.train.batch_size;
  if (c.min_steps > 0) c.train.epochs = std::max(c.train.epochs, (c.min_steps + steps_per_epoch - 1) / steps_per_epoch);
  RKHS_CHECK(c.head.classes >= 2, "the training data has " + std::to_string(c.head.classes) +
                                      " class(es); classification needs at least 2");
}

ClassifyResult run_classify(ClassifyConfig config) {
  RKHS_CHECK(config.train.epochs >= 1, "--epochs must be >= 1, got " + std::to_string(config.train.epochs));
  RKHS_CHECK(config.train.batch_size >= 1, "--batch-size must be >= 1");
  RKHS_CHECK(std::isfinite(config.train.lr) && config.train.lr > 0, "--lr must be a positive number");
  RKHS_CHECK(std::isfinite(config.train.step_gamma) && config.train.step_gamma > 0, "--step-gamma must be > 0");
  RKHS_CHECK(config.teacher_epochs >= 0, "--teacher-epochs must be >= 0");
  RKHS_CHECK(config.teacher_checkpoint.empty() || config.teacher_checkpoint != config.train.checkpoint_path,
             "--teacher-checkpoint and --checkpoint must be different files");
  RKHS_CHECK(config.distill_from.empty() || config.active.empty(),
             "--distill-from and --active cannot be combined in one run");
  DataSplit data = load_data(config.data);
  resolve_defaults(config, data);
  auto& dist = core::DistWorld::get();
  dist.check_same("configuration", config_json(config).dump() + " data " + data.description + " " +
                                       std::to_string(data.train.size()) + "/" + std::to_string(data.test.size()));
  ClassifyResult res;
  res.data_description = data.description;
  res.bayes_accuracy = data.bayes_accuracy;
  res.bayes_test_accuracy = data.bayes_test_accuracy;
  const data::Dataset* validation = data.validation ? &*data.validation : nullptr;

  std::unique_ptr<core::RunFolder> run;
  if (!config.out_dir.empty() && dist.is_root()) {  // rank 0 alone writes the run folder
    run = std::make_unique<core::RunFolder>(config.out_dir);
    // A fresh run starts a fresh metrics.csv (rows of an earlier run in the same folder would mix in).
    if (!config.train.resume) std::remove(run->file("metrics.csv").c_str());
  }

  if (!config.distill_from.empty()) train_teacher(config, data, validation, res);

  const data::Dataset train_set = config.active.empty() ? data.train : select_active(config, data, validation);

  if (run) {
    auto user_on_epoch = config.train.on_epoch;
    core::RunFolder* folder = run.get();
    config.train.on_epoch = [folder, user_on_epoch](const train::EpochRecord& r) {
      train::append_epoch(*folder, r);
      if (user_on_epoch) user_on_epoch(r);
    };
  }
  auto model = train_final(config, train_set, validation, data.test, res);
  res.parameters = count_parameters(*model);
  res.backbone = config.backbone.name;
  res.head = model->head->describe();
  res.world_size = dist.size();
  res.config_as_run = config_json(config).dump();
  res.comm_seconds = dist.comm_seconds();
  if (run) {
    // The whole history (including epochs before a resume) is the authoritative metrics.csv.
    std::string csv = train::metrics_csv_header() + "\n";
    for (const auto& r : res.fit.history) csv += train::metrics_csv_row(r) + "\n";
    run->write_text("metrics.csv", csv);
    run->write_text("config.json", res.to_json(config) + "\n");
    json sidecar = {{"backbone", config.backbone.name},
                    {"input_shape", config.backbone.input_shape},
                    {"hidden", config.backbone.hidden},
                    {"final_relu", config.backbone.final_relu},
                    {"grid_layers", config.backbone.grid_layers},
                    {"head", res.head},
                    {"classes", config.head.classes},
                    {"torch_version", compat::torch_version()},
                    {"rkhs_version", "0.1.0"}};
    run->save_model(*model, sidecar.dump(2));
  }
  return res;
}

std::string ClassifyResult::to_json(const ClassifyConfig& c) const {
  json j;
  j["command"] = "classify";
  j["data"] = c.data.spec;
  j["data_description"] = data_description;
  j["model"] = backbone;
  j["head"] = head;
  j["parameters"] = parameters;
  j["seed"] = c.train.seed;
  j["optimizer"] = c.train.optimizer;
  j["lr"] = lr_search ? lr_search->chosen : c.train.lr;  // the rate the model trained with
  j["batch_size"] = c.train.batch_size;
  j["epochs"] = fit.history.empty() ? 0 : fit.history.back().epoch;
  j["epochs_run"] = fit.epochs_run;  // in this invocation: fewer than "epochs" after --resume
  j["best_epoch"] = fit.best_epoch;
  j["train_seconds"] = fit.train_seconds;
  j["world_size"] = world_size;
  j["comm_seconds"] = comm_seconds;
  // Training examples each process went through per second of training (evaluation included in the time).
  j["examples_per_second_per_rank"] =
      fit.train_seconds > 0 ? static_cast<double>(examples_seen) / fit.train_seconds / world_size : 0.0;
  j["trained_on"] = trained_on;
  j["converged_epoch"] = fit.converged_epoch > 0 ? json(fit.converged_epoch) : json(nullptr);
  j["chosen"] = json::object();
  if (lr_search) j["chosen"]["lr"] = lr_search->chosen;
  if (lr_search && !lr_search->chosen_activation.empty()) j["chosen"]["activation"] = lr_search->chosen_activation;
  j["lr_search"] = lr_search ? lr_search_json(*lr_search) : json(nullptr);
  if (lr_search) j["lr_search_seconds"] = lr_search->seconds;
  j["lr_restarts"] = fit.restarts;  // epochs rerun at a 10x smaller rate by the divergence guard
  j["final_lr_factor"] = fit.lr_factor;
  j["optimizer_state_bytes"] = fit.optimizer_state_bytes;
  if (c.train.optimizer == "kernel-sgd") {
    const auto& k = c.train.kernel_sgd;
    j["kernel_sgd"] = {{"kernel", k.kernel},
                       {"mode", k.mode},
                       {"damping", k.damping},
                       {"fixed_batches", k.fixed_batches},
                       {"all_layers", k.all_layers},
                       {"momentum", k.momentum},
                       {"preconditioner_bytes", fit.preconditioner_bytes},
                       {"preconditioner_seconds", fit.preconditioner_seconds},
                       {"inverses", fit.inverses},
                       {"pseudo_inverses", fit.pseudo_inverses}};
  }
  j["train_accuracy"] = train.accuracy;
  j["test_accuracy"] = test.accuracy;
  j["test_nll"] = test.nll;
  j["test_ece"] = test.ece;
  j["train"] = metrics_json(train);
  j["test"] = metrics_json(test);
  if (validation) {
    j["validation_accuracy"] = validation->accuracy;
    j["validation"] = metrics_json(*validation);
  }
  if (bayes_accuracy) j["bayes_accuracy"] = *bayes_accuracy;
  if (bayes_test_accuracy) j["bayes_test_accuracy"] = *bayes_test_accuracy;
  if (teacher_test) {
    j["teacher"] = c.distill_from;
    j["teacher_test_accuracy"] = teacher_test->accuracy;
  }
  if (!c.active.empty()) {
    j["active"] = c.active;
    j["labelled"] = labelled;
  }
  json curve = json::array();
  for (const auto& e : fit.history) {
    json row = {{"epoch", e.epoch}, {"lr", e.lr}, {"train_loss", e.train_loss}, {"train_accuracy", e.train.accuracy}};
    if (e.validation) row["validation_accuracy"] = e.validation->accuracy;
    curve.push_back(row);
  }
  j["history"] = curve;
  j["config"] = config_as_run.empty() ? config_json(c) : json::parse(config_as_run);
  j["device"] = c.train.device.str();
  j["torch_version"] = compat::torch_version();
  return j.dump();
}

}  // namespace rkhs::jobs
