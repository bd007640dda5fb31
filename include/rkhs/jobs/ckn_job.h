#pragma once
// The `rkhs ckn` job (paper 003): images -> per-image standardisation -> CKN trained unsupervised (spherical
// k-means per layer) or supervised (Mairal 2016) -> multinomial logistic regression with lambda chosen by
// cross-validation on the training set -> accuracies. Optionally writes a run folder (model, filters) or
// evaluates a saved model.
#include <string>
#include <vector>

#include "rkhs/ckn/network.h"
#include "rkhs/jobs/data_spec.h"

namespace rkhs::jobs {

struct CknConfig {
  DataRequest data;                 // default fashion-mnist; images are standardised per image, not per feature
  std::string image_shape;          // "CxHxW" for flat data (csv:, libsvm:); empty: the data's own shape
  std::string image_norm = "standardize";  // per image: "standardize" (minus mean, / std) | "scale" (/ RMS only)
  ckn::NetworkOptions net;          // in_channels is taken from the data
  std::string mode = "unsupervised";  // | "supervised"
  ckn::UnsupervisedOptions unsupervised;
  ckn::SupervisedOptions supervised;
  // logistic.standardize: what the classifier's L2 penalty applies to, the weights of per-feature standardised
  // features (true; well conditioned for L-BFGS) or of the features themselves (false, Mairal 2016's objective).
  ckn::LogisticOptions logistic;
  int64_t batch_size = 256;         // feature extraction
  uint64_t seed = 0;
  std::string device = "cpu";       // "cpu" | "cuda[:N]"
  bool progress = true;
  std::string out_dir;              // optional run folder: config.json, model.pt, model.json, filters.dat
  std::string load;                 // a run folder written before: evaluate its model on the test set, no training
  // Instead of a CKN, the table's baselines with the same classifier: "linear" (the standardised pixels) or "rbf"
  // (Nystrom features of exp(-gamma ||x - x'||^2) on the pixels, rbf_landmarks random training images, gamma by
  // the median heuristic when rbf_gamma is 0). "none": the CKN.
  std::string baseline = "none";
  int64_t rbf_landmarks = 2048;
  double rbf_gamma = 0;
  // Several processes (docs/DISTRIBUTED.md): rank 0 fits the classifier alone once the other ranks have given
  // their shares of the features; it then uses this many threads (0: its share, unchanged).
  int solo_threads = 0;
};

struct CknResult {
  double test_accuracy = 0, train_accuracy = 0;
  double train_seconds = 0;         // everything but loading data and scoring the test set
  double total_seconds = 0;         // end to end: loading, preprocessing, training, scoring the test set
  double kmeans_seconds = 0, supervised_seconds = 0, feature_seconds = 0, classifier_seconds = 0;
  int64_t feature_dim = 0;
  double lambda = 0;
  double rbf_gamma = 0;               // the RBF baseline's gamma
  std::vector<double> lambdas, cv_accuracy;
  std::vector<double> kmeans_cosine;  // per layer
  std::vector<double> supervised_loss;  // per epoch
  std::vector<double> supervised_start_loss, supervised_lr, supervised_classifier_norm;  // per epoch (SupervisedReport)
  int64_t supervised_restarts = 0;     // epochs rerun by the divergence guard
  std::vector<double> supervised_validation_accuracy;  // per state 0..E with a hold-out (SupervisedReport)
  int64_t supervised_best_epoch = 0;   // the kept state
  std::vector<int64_t> image_shape;   // C, H, W
  int world_size = 1;                 // processes (docs/DISTRIBUTED.md)
  double comm_seconds = 0;            // rank 0's seconds in collectives
  int64_t train_size = 0, test_size = 0;
  std::string description;
  CknConfig config;  // the configuration as run (with load: the saved network and image preprocessing)
  std::string to_json(const CknConfig& config) const;  // keys: docs/CLI.md
};

CknResult run_ckn(CknConfig config);

// "1x28x28" -> {1, 28, 28}; throws rkhs::Error for anything else.
std::vector<int64_t> parse_image_shape(const std::string& text);

}  // namespace rkhs::jobs
