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
  // < 0 (the default): 0.1 when something is chosen on validation (lambda2_auto, shrink < 0), else 0.
  double validation_fraction = -1;
  std::string model = "sparse-fc";  // bias | autorec | kernelnet | sparse-fc
  kernelnet::AutoRecOptions autorec;  // layers, hidden, lambdas, d, kernel, loops, seed, progress
  bool dim_given = false;      // else d = 50 for kernelnet and 5 for sparse-fc (the paper's choices)
  // lambda2 chosen on validation along a warm-started path over lambda2_grid (kernelnet::fit_autorec_path, each
  // value for autorec.outer_loops loops; the path's default is 10, half the fixed-lambda2 run); false: fixed at
  // autorec.layer_options.lambda2 for autorec.outer_loops loops.
  bool lambda2_auto = true;
  std::vector<double> lambda2_grid = {1000, 300, 100, 30, 10};
  // The autoencoder's predictions shrunk towards the bias model by the item's training ratings
  // (kernelnet/blend.h): < 0 chooses c on validation from kernelnet::shrinkage_grid(); 0 is the autoencoder alone
  // (the paper's model); > 0 fixes c (inf: the bias model).
  double shrink = -1;
  std::vector<double> bias_lambdas = {0.5, 1, 2, 5, 10, 20, 50};  // selected on a 10% validation split
  std::string device = "cpu";  // "cpu" | "cuda[:N]" | "lazy": where the autoencoder trains (compat::parse_device)
  std::string out_dir;         // "" = no run folder; else config.json (the JSON below) and history.csv
};

struct RecommendResult {
  std::string format;          // detected file format
  int64_t users = 0, items = 0, train_ratings = 0, test_ratings = 0;
  float rating_min = 0, rating_max = 0;  // of the training ratings (the clipping range)
  kernelnet::AutoRecResult fit;          // for bias: test/train RMSE, seconds, parameters, macs (2 per prediction)
  double bias_lambda = 0;                // the bias model's (bias, and the shrinkage's bias model)
  kernelnet::PathResult lambda2_path;    // lambda2_auto: every value tried (points) and the chosen one
  double shrink = 0;                     // the c used (chosen or given)
  std::vector<double> shrink_grid, shrink_validation_rmse;  // when chosen
  double autoencoder_test_rmse = -1, bias_test_rmse = -1;    // the two parts alone, when shrinking (c > 0)
  int64_t dim = 0;                       // d used by kernelnet / sparse-fc
  int world_size = 1;                    // processes (docs/DISTRIBUTED.md)
  double comm_seconds = 0;               // rank 0's seconds in collectives
  RecommendConfig config;  // as run: the layer, d, lambda2 (chosen or given) and validation fraction used
  std::string to_json() const;  // keys: docs/CLI.md
};

// Seeds torch with config.autorec.seed before building the model.
RecommendResult run_recommend(RecommendConfig config);

}  // namespace rkhs::jobs
