// The binary linearised Laplace approximation (eq. 21-22): for a linear logit the Gauss-Newton precision is the
// exact Hessian of the negative log posterior, computed here by double autograd; calibration and OOD metrics
// against hand-computed values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/spectral/laplace.h"

using namespace rkhs::spectral;

TEST(Laplace, CovarianceIsTheInverseHessianOfTheNegativeLogPosteriorOfALinearLogit) {
  torch::manual_seed(1);
  auto f = torch::randn({40, 4}, torch::kFloat64);
  auto y = torch::randint(0, 2, {40}, torch::kLong).to(torch::kFloat64);
  auto w = torch::randn({4}, torch::kFloat64).requires_grad_();
  const double prior = 0.7;
  auto neg_log_post = torch::binary_cross_entropy_with_logits(f.mv(w), y, {}, {}, at::Reduction::Sum) +
                      w.square().sum() / (2 * prior);
  auto grad = torch::autograd::grad({neg_log_post}, {w}, {}, true, true)[0];
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < 4; ++i) rows.push_back(torch::autograd::grad({grad[i]}, {w}, {}, true)[0]);
  auto hessian = torch::stack(rows);
  auto la = fit_binary_laplace(f, f.mv(w.detach()), prior);
  EXPECT_TRUE(torch::allclose(la.covariance, torch::inverse(hessian), 1e-9, 1e-12));
  // v(x) = f(x)^T Sigma f(x), non-negative.
  auto x = torch::randn({3, 4}, torch::kFloat64);
  auto v = la.variance(x);
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_NEAR(v[i].item<double>(), x[i].dot(torch::inverse(hessian).mv(x[i])).item<double>(), 1e-10);
  EXPECT_THROW(fit_binary_laplace(f, f.mv(w.detach()), 0), rkhs::Error);
  EXPECT_THROW(la.variance(torch::randn({2, 3})), rkhs::Error);
}

TEST(Laplace, PredictiveAndMetrics) {
  auto logits = torch::tensor({0.0, 2.0, -3.0}, torch::kFloat64);
  // No variance: the MAP's sigmoid; variance pulls the probability towards one half.
  EXPECT_TRUE(torch::allclose(laplace_predictive(logits, torch::zeros({3}, torch::kFloat64), 8, 1), torch::sigmoid(logits)));
  auto wide = laplace_predictive(logits, torch::full({3}, 25.0, torch::kFloat64), 4000, 1);
  EXPECT_LT(wide[1].item<double>(), torch::sigmoid(logits[1]).item<double>());
  EXPECT_GT(wide[2].item<double>(), torch::sigmoid(logits[2]).item<double>());
  // NLL and entropy by hand.
  auto p = torch::tensor({0.9, 0.2, 0.6, 0.7}, torch::kFloat64);
  auto y = torch::tensor({1, 0, 0, 1}, torch::kLong);
  EXPECT_NEAR(binary_nll(p, y), -(std::log(0.9) + std::log(0.8) + std::log(0.4) + std::log(0.7)) / 4, 1e-12);
  EXPECT_NEAR(binary_entropy(torch::tensor({0.5}, torch::kFloat64)).item<double>(), std::log(2.0), 1e-12);
  // ECE with 10 bins: confidences 0.9 (correct), 0.8 (correct), 0.6 (wrong), 0.7 (correct), one point per bin:
  // (|1 - 0.9| + |1 - 0.8| + |0 - 0.6| + |1 - 0.7|) / 4.
  EXPECT_NEAR(binary_ece(p, y, 10), (0.1 + 0.2 + 0.6 + 0.3) / 4, 1e-12);
  // AUROC: the fraction of (negative, positive) pairs ordered correctly, ties one half.
  auto neg = torch::tensor({0.1, 0.4, 0.35}, torch::kFloat64), pos = torch::tensor({0.8, 0.4}, torch::kFloat64);
  EXPECT_NEAR(auroc(neg, pos), (3 + 2.5) / 6.0, 1e-12);
  EXPECT_DOUBLE_EQ(auroc(pos + 1, neg), 0.0);
}
