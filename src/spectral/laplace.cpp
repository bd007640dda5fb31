#include "rkhs/spectral/laplace.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::spectral {

BinaryLaplace fit_binary_laplace(const at::Tensor& features, const at::Tensor& logits, double prior_variance) {
  RKHS_CHECK(features.dim() == 2 && logits.dim() == 1 && features.size(0) == logits.size(0) && features.size(0) >= 1,
             "Laplace: expected features (N, k) and logits (N,)");
  RKHS_CHECK(prior_variance > 0, "Laplace: the prior variance must be positive");
  RKHS_CHECK(torch::isfinite(features).all().item<bool>() && torch::isfinite(logits).all().item<bool>(),
             "Laplace: the features or logits have NaN or infinite entries");
  torch::NoGradGuard g;
  auto f = features.to(torch::kFloat64);
  auto s = torch::sigmoid(logits.to(torch::kFloat64));
  auto lambda = s * (1 - s);  // the logistic likelihood's Hessian in the logit
  auto precision = f.t().mm(f * lambda.unsqueeze(1)) +
                   torch::eye(f.size(1), torch::kFloat64) / prior_variance;  // symmetric positive definite
  BinaryLaplace r;
  r.covariance = torch::cholesky_inverse(torch::linalg_cholesky(precision));
  return r;
}

at::Tensor BinaryLaplace::variance(const at::Tensor& features) const {
  RKHS_CHECK(features.dim() == 2 && features.size(1) == covariance.size(0), "Laplace: feature dimension mismatch");
  auto f = features.to(torch::kFloat64);
  return (f.mm(covariance) * f).sum(1).clamp_min(0);
}

at::Tensor laplace_predictive(const at::Tensor& logits, const at::Tensor& variance, int64_t samples, uint64_t seed) {
  RKHS_CHECK(logits.sizes() == variance.sizes() && logits.dim() == 1 && samples >= 1,
             "Laplace predictive: expected logits and variances (m,) and samples >= 1");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto eps = at::normal(0, 1, {samples, 1}, gen).to(torch::kFloat64);
  auto f = logits.to(torch::kFloat64).unsqueeze(0) + variance.to(torch::kFloat64).sqrt().unsqueeze(0) * eps;
  return torch::sigmoid(f).mean(0);
}

double binary_nll(const at::Tensor& p, const at::Tensor& y) {
  auto pd = p.to(torch::kFloat64).clamp(1e-12, 1 - 1e-12), yd = y.to(torch::kFloat64);
  return -(yd * pd.log() + (1 - yd) * (1 - pd).log()).mean().item<double>();
}

double binary_ece(const at::Tensor& p, const at::Tensor& y, int64_t bins) {
  RKHS_CHECK(p.sizes() == y.sizes() && p.numel() > 0 && bins >= 1, "ECE: expected probabilities and labels (m,)");
  auto pd = p.to(torch::kFloat64);
  auto conf = torch::max(pd, 1 - pd);
  auto correct = (pd > 0.5).to(torch::kLong).eq(y.to(torch::kLong)).to(torch::kFloat64);
  // Confidence is in [0.5, 1]; bins split [0, 1] as in Guo et al. (the lower half stays empty).
  auto bin = (conf * double(bins)).floor().clamp_max(double(bins - 1)).to(torch::kLong);
  double ece = 0;
  const double m = double(p.numel());
  for (int64_t b = 0; b < bins; ++b) {
    auto in = bin.eq(b);
    const double count = in.sum().item<double>();
    if (count == 0) continue;
    ece += count / m * std::abs(correct.index({in}).mean().item<double>() - conf.index({in}).mean().item<double>());
  }
  return ece;
}

at::Tensor binary_entropy(const at::Tensor& p) {
  auto pd = p.to(torch::kFloat64).clamp(1e-12, 1 - 1e-12);
  return -(pd * pd.log() + (1 - pd) * (1 - pd).log());
}

double auroc(const at::Tensor& neg, const at::Tensor& pos) {
  RKHS_CHECK(neg.numel() > 0 && pos.numel() > 0, "AUROC: both groups must be non-empty");
  // The Mann-Whitney statistic with ties counted one half: P(score_pos > score_neg).
  auto all = torch::cat({neg.reshape({-1}), pos.reshape({-1})}).to(torch::kFloat64);
  auto ranks = torch::empty_like(all);
  auto [sorted, order] = all.sort();
  auto s = sorted.accessor<double, 1>();
  auto o = order.accessor<int64_t, 1>();
  auto r = ranks.accessor<double, 1>();
  for (int64_t i = 0; i < all.numel();) {
    int64_t j = i;
    while (j + 1 < all.numel() && s[j + 1] == s[i]) ++j;
    for (int64_t t = i; t <= j; ++t) r[o[t]] = 0.5 * double(i + j) + 1;  // average rank of the tie group
    i = j + 1;
  }
  const double np = double(pos.numel()), nn = double(neg.numel());
  const double sum_pos = ranks.slice(0, neg.numel()).sum().item<double>();
  return (sum_pos - np * (np + 1) / 2) / (np * nn);
}

}  // namespace rkhs::spectral
