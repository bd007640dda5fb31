#pragma once
// The `rkhs classify` job as a library call: data -> backbone + head -> trainer -> metrics -> JSON.
// Distillation and active learning (paper 000 §6.4, §6.5) are options of the same job.
#include "rkhs/classify/head.h"
#include "rkhs/jobs/data_spec.h"
#include "rkhs/nn/backbone.h"
#include "rkhs/train/trainer.h"

#include <optional>
#include <string>
#include <vector>

namespace rkhs::jobs {

struct ClassifyConfig {
  DataRequest data;
  nn::BackboneOptions backbone;  // name "" = the data set's default (sphere: identity, files: mlp, images: lenet5)
  classify::HeadOptions head;    // dim and classes are filled in from the backbone and data
  train::TrainOptions train;

  // Distillation (paper §6.4): when distill_from names a backbone, a softmax teacher with that backbone is
  // trained first (teacher_epochs, same data and optimiser settings), and the student is trained on its
  // logits at train.distill_temperature.
  std::string distill_from;
  int64_t teacher_epochs = 0;  // 0 = train.epochs
  // The teacher's training checkpoint: written after every teacher epoch and, when it exists, resumed (a complete
  // one is reused without training), so several students can share one teacher. Seed, batch size, optimiser,
  // learning rate and the number of training examples must match the run that wrote it, and it may not have more
  // epochs than the teacher is given (checked, as for every resumed checkpoint).
  std::string teacher_checkpoint;

  // Active learning (paper §6.5 / appendix C): "random", "margin" or "kcenter". A seed model is trained on
  // a random active_seed_fraction of the training set, then active_budget (fraction of the training set) is
  // selected from the rest by the method using only the seed model's predictions/embeddings, and the final
  // model is trained on seed + selected points.
  std::string active;
  double active_seed_fraction = 0.1;
  double active_budget = 0.3;

  // The learning-rate search (issue 26; `rkhs classify` when --lr is not given), by successive halving: each rate
  // factor * train.lr of lr_search_factors (for the kernelized head with activation_search: each activation of
  // activation_candidates with each rate) starts a run of the full length and schedule from the same
  // initialisation; at each rung (epochs ..., E/4, E/2 of E) the better half by validation accuracy at that epoch
  // (ties: the lower validation NLL; a diverged candidate loses) goes on, the others stop, and the last one left
  // trains to the end as the final model. Validation: the run's validation split (the final model then keeps its
  // best validation epoch), else a stratified 10% of the training part held out, on which the final model does
  // not train (it keeps its last epoch). Cost: about 2 runs for 4 candidates, 2.5 for 12 (docs/CLI.md). Not with
  // distillation (the teacher's logits belong to the whole training part): there train.lr is used.
  bool lr_search = false;
  std::vector<double> lr_search_factors = {3, 1, 0.3, 0.1};
  // With lr_search and the kernelized head, the coefficient activations searched with the rates (each with its own
  // default temperature and coefficient decay). `rkhs classify` sets it when neither --lr, --activation nor
  // --temperature is given.
  bool activation_search = false;
  std::vector<std::string> activation_candidates = {"relu", "sigmoid", "softmax"};

  // When > 0 (`rkhs classify` without --epochs): train.epochs is raised so that training takes at least min_steps
  // optimizer steps of ceil(training points / batch size) per epoch. Ten epochs of 128-point batches are 70 steps
  // on the 800 training points of moons or circles, too few for an MLP to fit them (circles: chance level).
  int64_t min_steps = 0;

  std::string out_dir;  // "" = no run folder; else config.json, metrics.csv, model.pt, model.json
};

// One candidate of the learning-rate search, as it left the search.
struct SearchCandidate {
  double lr = 0;
  std::string activation;  // the kernelized head's, with activation_search; else empty
  int64_t epochs = 0;      // trained when it left the search (the survivor: at the last rung)
  double validation_accuracy = 0, validation_nll = 0;  // at that epoch; NaN: diverged
};

// What the learning-rate search tried and chose (ClassifyConfig::lr_search).
struct LrSearch {
  std::vector<SearchCandidate> candidates;  // in the order of the grid (activations, then rates)
  std::vector<int64_t> rungs;               // the epochs at which the better half went on
  double chosen = 0;
  std::string chosen_activation;  // with activation_search
  int64_t validation_size = 0;
  bool held_out = false;  // true: a 10% hold-out of the training part, not the run's validation split
  std::optional<int64_t> held_out_joins_after;  // the epoch after which the hold-out joined the training set
  double seconds = 0;     // the search's cost: its wall time less the survivor's own training
  bool from_checkpoint = false;  // read from the checkpoint that --resume continued (the search was not run again)
};

struct ClassifyResult {
  train::Metrics train, test;
  std::optional<train::Metrics> validation;
  std::optional<double> bayes_accuracy, bayes_test_accuracy;
  std::optional<train::Metrics> teacher_test;  // distillation only
  train::TrainResult fit;
  std::optional<LrSearch> lr_search;
  int64_t parameters = 0;
  int64_t labelled = 0;  // training points used (differs from the training set size with active learning)
  int64_t trained_on = 0;  // of them, those the final model trained on at the end
  int64_t examples_seen = 0;  // by the final model's run in this invocation (epochs x the examples each had)
  int world_size = 1;         // processes that trained it (docs/DISTRIBUTED.md)
  double comm_seconds = 0;    // of the run's time, spent in collectives (this rank)
  std::string backbone, head, data_description;
  // The configuration as run (after resolve_defaults and the searches: the model, epochs and KCL activation that
  // trained), as JSON text; to_json reports it as "config", falling back to its argument when it is empty.
  std::string config_as_run;
  // One JSON object with the keys documented in docs/CLI.md (test_accuracy, train_accuracy, train_seconds,
  // epochs, bayes_accuracy, ...).
  std::string to_json(const ClassifyConfig& config) const;
};

// Runs the job. Seeds torch with config.train.seed before building models.
ClassifyResult run_classify(ClassifyConfig config);

// Fills backbone/head defaults that depend on the data (name, input shape, dims).
void resolve_defaults(ClassifyConfig& config, const DataSplit& data);

}  // namespace rkhs::jobs
