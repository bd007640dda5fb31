#pragma once
// The `rkhs embed` job (paper 004 §3.3): train the 2-D kernelNet embedding network as a classifier or an
// autoencoder (net.objective; the autoencoder reads unstandardised inputs in [0, 1]), embed the test
// set by the centre of mass of the grid activations (eq. 10), and write the embedding and its scatter plot.
#include <string>
#include <vector>

#include "rkhs/jobs/data_spec.h"
#include "rkhs/kernelnet/embedding.h"

namespace rkhs::jobs {

struct EmbedConfig {
  DataRequest data;                  // default fashion-mnist
  kernelnet::EmbeddingOptions net;   // input_dim and classes are filled in from the data
  int64_t epochs = 5;
  int64_t batch_size = 128;
  double lr = 1e-3;                  // Adam
  uint64_t seed = 0;
  bool progress = true;
  std::string device = "cpu";        // "cpu" | "cuda[:N]" | "lazy" (compat::parse_device)
  std::string out_dir;               // required: embedding.csv, config.json (and embedding.png via the CLI)
};

struct EmbedResult {
  double test_accuracy = 0;          // of the network's own classifier (classifier objective)
  double test_reconstruction_bce = 0;  // autoencoder: per-pixel cross-entropy summed over pixels, mean over images
  double test_reconstruction_mse = 0;  // autoencoder: mean squared error of the sigmoid reconstruction
  double knn_accuracy = 0;           // 5-NN in the 2-D embedding: test points by the embedded training points
  int64_t empty_test = 0;            // test inputs with no active grid unit (placed at the grid's centre)
  double train_seconds = 0;
  int64_t parameters = 0;
  std::vector<double> train_loss;    // the mean training loss of each epoch
  int world_size = 1;                // processes (docs/DISTRIBUTED.md)
  double comm_seconds = 0;           // rank 0's seconds in collectives
  std::string description, csv_path;
  std::string to_json(const EmbedConfig& config) const;  // keys: docs/CLI.md
};

EmbedResult run_embed(EmbedConfig config);

}  // namespace rkhs::jobs
