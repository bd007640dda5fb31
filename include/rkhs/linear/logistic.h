#pragma once
// The linear classifier on top of a CKN (paper 003 §4, REFERENCE.md §4): multinomial logistic regression or
// one-vs-rest squared hinge (options.loss),
//   min_{W, b}  (1/n) sum_i L(W z_i + b, y_i) + (lambda / 2) ||W||^2     (b not penalised)
// with L = CE (softmax cross-entropy) or L(s, y) = sum_c max(0, 1 - t_c s_c)^2, t_c = +1 for c = y and -1 else,
// on the features z_i standardised with the fit's own per-feature mean and standard deviation (optional, on
// by default: it makes L-BFGS converge on correlated features); the returned model applies to raw features.
// fitted by full-batch L-BFGS (strong Wolfe line search) in preconditioned coordinates (the features rotated into
// the eigenbasis of their covariance, each direction scaled by (0.1 e + lambda)^(-1/2); logistic.cpp), lambda
// chosen by k-fold cross-validation on the training data only (never on the test set, unlike the reference
// scripts). The cross-validation solves every (fold, lambda) problem in one L-BFGS run on the sum of their
// objectives (they are separable), so each step is one matrix product over the training features for all of them.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rkhs::linear {

struct LogisticOptions {
  std::vector<double> lambdas = {1e-3, 1e-4, 1e-5, 1e-6};  // cross-validated grid (one value: no CV)
  int64_t grow = 2;  // decades the grid may grow past an end that wins the cross-validation (0: as given)
  int64_t folds = 3;             // 1: a single hold-out split of a fifth of the data (large sets)
  int64_t max_iterations = 150;  // L-BFGS iterations per fit (the cross-validation's joint run counts as one fit)
  int64_t history = 10;          // L-BFGS memory
  double tolerance = 1e-6;       // on the gradient's max entry
  uint64_t seed = 0;             // fold assignment
  bool standardize = true;       // fit on per-feature standardised features
  std::string loss = "logistic";  // "logistic" | "squared-hinge" (one-vs-rest)
};

// Throws rkhs::Error naming the first invalid option (empty or negative lambdas, folds / iterations / memory < 1,
// an unknown loss). The fits call it; a caller can call it first to fail before the features are computed.
void check(const LogisticOptions& options);

// The mean loss over the rows of logits (n, C) for labels (n,): "logistic" (cross-entropy) or "squared-hinge"
// (one-vs-rest, summed over the classes). Throws rkhs::Error for another name.
at::Tensor classifier_loss(const at::Tensor& logits, const at::Tensor& labels, const std::string& loss);

struct LogisticModel {
  at::Tensor weight;  // (C, D)
  at::Tensor bias;    // (C,)
  double lambda = 0;
  std::vector<double> cv_lambdas;   // the lambdas cross-validated: options.lambdas, then the ones grown (or empty)
  std::vector<double> cv_accuracy;  // per cv_lambdas entry (empty without CV)
  at::Tensor logits(const at::Tensor& features) const;   // (n, C)
  at::Tensor predict(const at::Tensor& features) const;  // (n,) int64
};

// One fit for a fixed lambda, optionally warm-started from `init`. features (n, D) float, labels (n,) int64
// in [0, classes).
LogisticModel fit_logistic(const at::Tensor& features, const at::Tensor& labels, int64_t classes, double lambda,
                           const LogisticOptions& options, const LogisticModel* init = nullptr);
// The fold of each of n rows that fit_logistic_cv uses: a seeded permutation (options.seed) cut into options.folds
// contiguous parts; with folds == 1 the first fifth of it is fold 0 (the hold-out) and the other rows are -1.
at::Tensor fold_assignment(int64_t n, const LogisticOptions& options);
// Cross-validates options.lambdas on the folds of fold_assignment (problem (k, lambda) is fitted on the rows
// outside fold k and scored on fold k), then refits the best lambda on all the data (started from the folds' mean
// solution; ties go to the larger lambda). Every fold standardises with the statistics of all n training rows
// (no label is used), so the cross-validated objectives are the refit's. A grid of two or more lambdas whose
// smallest (largest) value is strictly the best grows by a tenth (ten times) of it, cross-validated the same way
// (started from the end's solutions), up to options.grow times: the chosen lambda is then inside the grid or
// options.grow decades past it. cv_lambdas lists every lambda tried, cv_accuracy their held-out accuracies.
LogisticModel fit_logistic_cv(const at::Tensor& features, const at::Tensor& labels, int64_t classes,
                              const LogisticOptions& options);

// The lambda the grid grows by, given the lambdas tried and their held-out accuracies (same order): a tenth of the
// smallest when it is strictly better than every other (and > 0), ten times the largest when it is; else none.
std::optional<double> grown_lambda(const std::vector<double>& tried, const std::vector<double>& accuracy);

double accuracy(const at::Tensor& predicted, const at::Tensor& labels);

}  // namespace rkhs::linear
