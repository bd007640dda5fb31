#pragma once
// Multinomial logistic regression on fixed features, the classifier on top of an unsupervised CKN (paper 003 §4,
// REFERENCE.md §4):
//   min_{W, b}  (1/n) sum_i CE(W f_i + b, y_i) + (lambda / 2) ||W||^2     (b not penalised)
// fitted by full-batch L-BFGS (strong Wolfe line search), lambda chosen by k-fold cross-validation on the
// training data only (never on the test set, unlike the reference scripts).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace rkhs::ckn {

struct LogisticOptions {
  std::vector<double> lambdas = {1e-3, 1e-4, 1e-5, 1e-6};  // cross-validated grid (one value: no CV)
  int64_t folds = 3;
  int64_t max_iterations = 300;  // L-BFGS iterations per fit
  double tolerance = 1e-6;       // on the gradient's max entry
  uint64_t seed = 0;             // fold assignment
};

struct LogisticModel {
  at::Tensor weight;  // (C, D)
  at::Tensor bias;    // (C,)
  double lambda = 0;
  std::vector<double> cv_accuracy;  // per lambda (empty without CV)
  at::Tensor logits(const at::Tensor& features) const;   // (n, C)
  at::Tensor predict(const at::Tensor& features) const;  // (n,) int64
};

// One fit for a fixed lambda, optionally warm-started from `init`. features (n, D) float, labels (n,) int64
// in [0, classes).
LogisticModel fit_logistic(const at::Tensor& features, const at::Tensor& labels, int64_t classes, double lambda,
                           const LogisticOptions& options, const LogisticModel* init = nullptr);
// Cross-validates options.lambdas (folds stratified by nothing but a seeded permutation; lambdas visited from
// large to small with warm starts) and refits the best on all the data.
LogisticModel fit_logistic_cv(const at::Tensor& features, const at::Tensor& labels, int64_t classes,
                              const LogisticOptions& options);

double accuracy(const at::Tensor& predicted, const at::Tensor& labels);

}  // namespace rkhs::ckn
