#pragma once
// The `rkhs recommend` job as a library call (paper 004 §3.5): MovieLens ratings -> the user+item bias baseline or
// an item-based AutoRec with dense (I-AutoRec), kernelNet or sparse-FC layers -> test RMSE, parameters, MACs.
#include <string>
#include <vector>

#include "rkhs/kernelnet/autorec.h"
#include "rkhs/kernelnet/bias_baseline.h"

namespace rkhs::jobs {

struct RecommendConfig {
  std::string data;            // "movielens:PATH" (a ratings file or a folder holding one)
  std::string test;            // "" = random split of data; else a second ratings file ("movielens:" optional)
  double test_fraction = 0.1;
  // > 0: this random fraction of the training ratings is held out as a validation set (reported as
  // validation_rmse, for choosing hyper-parameters without the test set); the model trains on the rest.
  double validation_fraction = 0;
  std::string model = "sparse-fc";  // bias | autorec | kernelnet | sparse-fc
  kernelnet::AutoRecOptions autorec;  // layers, hidden, lambdas, d, kernel, loops, seed, progress
  bool dim_given = false;      // else d = 50 for kernelnet and 5 for sparse-fc (the paper's choices)
  std::vector<double> bias_lambdas = {0.5, 1, 2, 5, 10, 20, 50};  // selected on a 10% validation split
  std::string out_dir;         // "" = no run folder; else config.json (the JSON below) and history.csv
};

struct RecommendResult {
  std::string format;          // detected file format
  int64_t users = 0, items = 0, train_ratings = 0, test_ratings = 0;
  float rating_min = 0, rating_max = 0;  // of the training ratings (the clipping range)
  kernelnet::AutoRecResult fit;          // for bias: test/train RMSE, seconds, parameters, macs (2 per prediction)
  double bias_lambda = 0;                // bias only
  int64_t dim = 0;                       // d used by kernelnet / sparse-fc
  std::string to_json(const RecommendConfig& config) const;  // keys: docs/CLI.md
};

// Seeds torch with config.autorec.seed before building the model.
RecommendResult run_recommend(RecommendConfig config);

}  // namespace rkhs::jobs
