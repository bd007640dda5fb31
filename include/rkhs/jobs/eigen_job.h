#pragma once
// The `rkhs eigen` job (paper 002): the top-k eigenpairs of a kernel under a data distribution, by NeuralEF or by
// the Nystrom method, measured against the exact eigendecomposition of the same sample (N <= 10000) on held-out
// points.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "rkhs/spectral/neuralef.h"
#include "rkhs/spectral/spin.h"

namespace rkhs::jobs {

struct EigenConfig {
  std::string kernel = "rbf";     // rbf | polynomial (the paper's 1-D kernels on uniform1d) | a registry spec
  std::string data = "uniform1d";  // uniform1d | moons | circles | fashion-mnist | csv:PATH
  int64_t n = 2048;               // training points
  int64_t heldout = 1000;         // held-out points for the alignment
  int64_t k = 10;
  std::string method = "neuralef";  // | "nystrom" | "spin" (the SpIN baseline, spectral/spin.h, same networks)
  spectral::SpINOptions spin;
  spectral::NeuralEFOptions net;    // k and input_dim are filled in
  spectral::NeuralEFTrainOptions train;
  int64_t reference_limit = 10000;  // exact reference eigendecomposition up to this N
  int64_t mc_samples = 0;           // Monte Carlo kernels: networks S (0 = the paper's: 10000 MLPs, 2000 CNNs)
  // fashion-mnist (pixels scaled to [-1, 1]): the N training and held-out images come from the training and test
  // sets; a multinomial logistic regression is fitted on the k-D projections of `classify_size` training images
  // (0 = all 60000; lambda by 3-fold cross-validation on them) and tested on the projections of all 10000 test
  // images (Table 1).
  int64_t classify_size = 0;
  // --kernel ntk (fashion-mnist only): the empirical NTK of a LeNet-5 binary classifier trained for `ntk_epochs` on
  // the two `ntk_classes`; N training and the held-out images come from those classes, and K-means with 2
  // clusters on the held-out projections (and on their pixels) gives a cluster accuracy. mc_samples: the number of
  // Rademacher directions (0: 4000).
  std::string ntk_classes = "7,9";
  int64_t ntk_epochs = 3;
  std::string ntk_method = "finite-differences";  // | "jacobian"
  uint64_t seed = 0;
  bool progress = true;
  // "cpu" | "cuda[:N]" | "lazy": the kernel matrices, the reference and Nystrom eigendecompositions, the networks
  // and their training run there; the measurements on the held-out points are computed on the CPU.
  std::string device = "cpu";
  // Optional run folder: config.json (the JSON) and eigenfunctions.csv (held-out points sorted by their first
  // coordinate: x_1..x_d, psi_1..psi_k and, with a reference, ref_1..ref_k sign-matched to psi).
  std::string out_dir;
};

// --kernel ntk: one predictive method of the binary classifier (MAP, last-layer Laplace, linearised Laplace with
// NeuralEF, eq. 22) on the pair's test images (in distribution) and the other classes' (out of distribution).
struct LaplaceResult {
  std::string name;
  double accuracy = 0, nll = 0, ece = 0;   // in distribution
  double entropy_in = 0, entropy_out = 0;  // mean predictive entropy (nats)
  double ood_auroc = 0;                    // entropy as an out-of-distribution score
  double mean_variance_in = 0;             // mean posterior variance of the logit
  at::Tensor entropies_in, entropies_out;  // per image (float64), for the histograms
};

struct EigenResult {
  std::string kernel_spec, data_description;
  int world_size = 1;        // processes (docs/DISTRIBUTED.md)
  double comm_seconds = 0;   // rank 0's seconds in collectives
  std::vector<double> eigenvalues, ema_eigenvalues, reference_eigenvalues, rel_error, alignment;
  double orthogonality = 0;        // on the held-out points
  // ||K - Psi diag(mu) Psi^T||_F / ||K||_F on the held-out points, and the Eckart-Young minimum over rank k.
  double reconstruction_error = 0, best_rank_k_error = 0;
  double captured_trace = 0;       // NeuralEF: Ky Fan trace of the orthonormalised functions (<= reference_trace)
  bool rayleigh_ritz = false;      // NeuralEF/SpIN: the functions were rotated by Rayleigh-Ritz (--rayleigh-ritz)
  double reference_trace = 0;      // mu_1 + ... + mu_k of the reference
  int64_t null_pairs = 0;          // reference eigenvalues that are numerically zero (rank-deficient kernels)
  double train_seconds = 0;        // NeuralEF iterations, or the Nystrom gram + eigendecomposition
  double reference_seconds = 0, rayleigh_seconds = 0;
  double features_seconds = 0;     // Monte Carlo kernels: the training points' network outputs (NeuralEF)
  bool has_reference = false;
  // fashion-mnist: logistic regression on the projections (has_classifier).
  bool has_classifier = false;
  double logistic_train_accuracy = 0, logistic_test_accuracy = 0, logistic_lambda = 0, projection_seconds = 0;
  int64_t classify_train_size = 0, classify_test_size = 0;
  // --kernel ntk: the classifier and K-means on the held-out projections and pixels (has_clusters).
  bool has_clusters = false;
  double kmeans_accuracy = 0, kmeans_scaled_accuracy = 0, kmeans_pixels_accuracy = 0, classifier_test_accuracy = 0, classifier_seconds = 0;
  int64_t classifier_parameters = 0;
  double prior_variance = 0;                  // sigma0^2 = 1 / (N * weight decay)
  std::vector<LaplaceResult> laplace;         // map, last-layer, neuralef
  std::string to_json(const EigenConfig& config) const;  // keys: docs/CLI.md
};

EigenResult run_eigen(EigenConfig config);

}  // namespace rkhs::jobs
