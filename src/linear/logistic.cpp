#include "rkhs/linear/logistic.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rkhs/error.h"

namespace rkhs::linear {

at::Tensor LogisticModel::logits(const at::Tensor& f) const { return torch::addmm(bias, f, weight.t()); }
at::Tensor LogisticModel::predict(const at::Tensor& f) const { return logits(f).argmax(1); }

double accuracy(const at::Tensor& predicted, const at::Tensor& labels) {
  return predicted.eq(labels).to(torch::kFloat64).mean().item<double>();
}

at::Tensor classifier_loss(const at::Tensor& logits, const at::Tensor& labels, const std::string& loss) {
  if (loss == "logistic") return torch::cross_entropy_loss(logits, labels);
  RKHS_CHECK(loss == "squared-hinge", "CKN classifier: loss must be logistic or squared-hinge, got '" + loss + "'");
  auto t = torch::one_hot(labels, logits.size(1)).to(logits.scalar_type()) * 2 - 1;  // +1 own class, -1 else
  return (1 - t * logits).clamp_min(0).square().sum(1).mean();
}

namespace {

// The options one fit uses (not the lambda grid nor the folds).
void check_fit_options(const LogisticOptions& o) {
  RKHS_CHECK(o.max_iterations >= 1 && o.history >= 1,
             "CKN classifier: L-BFGS iterations (--max-iterations) and memory (--lbfgs-history) must be >= 1");
  RKHS_CHECK(o.tolerance >= 0, "CKN classifier: the gradient tolerance must be >= 0");
  RKHS_CHECK(o.loss == "logistic" || o.loss == "squared-hinge",
             "CKN classifier: loss (--classifier) must be logistic or squared-hinge, got '" + o.loss + "'");
}

void check_inputs(const at::Tensor& f, const at::Tensor& y, int64_t classes) {
  RKHS_CHECK(f.dim() == 2 && f.size(0) > 0, "logistic regression: features must be a non-empty (n, D) matrix");
  RKHS_CHECK(y.dim() == 1 && y.size(0) == f.size(0), "logistic regression: one label per feature row expected");
  RKHS_CHECK(classes >= 2, "logistic regression: need at least 2 classes");
  RKHS_CHECK(y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < classes,
             "logistic regression: labels outside [0, " + std::to_string(classes) + ")");
  RKHS_CHECK(torch::isfinite(f).all().item<bool>(), "logistic regression: the features have NaN or infinite entries");
}

}  // namespace

void check(const LogisticOptions& o) {
  check_fit_options(o);
  RKHS_CHECK(!o.lambdas.empty(), "CKN classifier: no lambda given (--lambdas)");
  for (double l : o.lambdas) {
    std::ostringstream text;
    text << l;
    RKHS_CHECK(l >= 0 && std::isfinite(l), "CKN classifier: every lambda (--lambdas) must be finite and >= 0, got " +
                                               text.str());
  }
  RKHS_CHECK(o.folds >= 1, "CKN classifier: folds (--folds) must be >= 1, got " + std::to_string(o.folds));
}

LogisticModel fit_logistic(const at::Tensor& raw, const at::Tensor& y, int64_t classes, double lambda,
                           const LogisticOptions& o, const LogisticModel* init) {
  check_inputs(raw, y, classes);
  RKHS_CHECK(lambda >= 0 && std::isfinite(lambda), "logistic regression: lambda must be >= 0");
  check_fit_options(o);
  // Optimise on standardised features z = (f - mu) / sd (far better conditioned than the raw unit-norm CKN
  // features) and fold the scaling back: W f + b = W_z z + b_z with W = W_z / sd, b = b_z - W mu.
  at::Tensor mu, sd, f = raw;
  if (o.standardize) {
    mu = raw.mean(0);
    sd = raw.std(0, /*unbiased=*/false).clamp_min(1e-8);
    f = (raw - mu) / sd;
  }
  auto w = init ? init->weight.detach().clone() : torch::zeros({classes, f.size(1)}, f.options());
  auto b = init ? init->bias.detach().clone() : torch::zeros({classes}, f.options());
  if (init && o.standardize) {
    b = b + w.mv(mu);
    w = w * sd;
  }
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  torch::optim::LBFGS opt({w, b}, torch::optim::LBFGSOptions(1.0)
                                      .max_iter(o.max_iterations)
                                      .history_size(o.history)
                                      .tolerance_grad(o.tolerance)
                                      .tolerance_change(1e-10)
                                      .line_search_fn("strong_wolfe"));
  auto closure = [&] {
    opt.zero_grad();
    auto loss = classifier_loss(torch::addmm(b, f, w.t()), y, o.loss) + 0.5 * lambda * w.square().sum();
    loss.backward();
    return loss;
  };
  auto loss = opt.step(closure);
  RKHS_CHECK(std::isfinite(loss.item<double>()), "logistic regression: the loss is not finite (lambda " +
                                                     std::to_string(lambda) + ")");
  LogisticModel m;
  m.weight = w.detach();
  m.bias = b.detach();
  if (o.standardize) {
    m.weight = m.weight / sd;
    m.bias = m.bias - m.weight.mv(mu);
  }
  m.lambda = lambda;
  return m;
}

LogisticModel fit_logistic_cv(const at::Tensor& f, const at::Tensor& y, int64_t classes, const LogisticOptions& o) {
  check_inputs(f, y, classes);
  check(o);
  std::vector<double> lambdas = o.lambdas;
  std::sort(lambdas.rbegin(), lambdas.rend());
  if (lambdas.size() == 1) return fit_logistic(f, y, classes, lambdas[0], o);
  const int64_t n = f.size(0);
  // folds >= 2: k-fold cross-validation; folds == 1: one hold-out split of a fifth of the data.
  const bool holdout = o.folds <= 1;
  const int64_t folds = holdout ? 1 : std::min<int64_t>(o.folds, n);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  auto perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).to(f.device());
  std::vector<double> correct(lambdas.size(), 0);
  std::vector<LogisticModel> last_fold(lambdas.size());  // warm starts for the final fit
  int64_t scored = 0;
  for (int64_t k = 0; k < folds; ++k) {
    const int64_t lo = holdout ? 0 : k * n / folds, hi = holdout ? std::max<int64_t>(1, n / 5) : (k + 1) * n / folds;
    RKHS_CHECK(hi > lo && hi - lo < n, "logistic regression: too few samples for cross-validation");
    auto held = perm.slice(0, lo, hi);
    auto kept = torch::cat({perm.slice(0, 0, lo), perm.slice(0, hi, n)});
    auto ft = f.index({kept}), yt = y.index({kept}), fv = f.index({held}), yv = y.index({held});
    LogisticModel prev;
    for (size_t i = 0; i < lambdas.size(); ++i) {
      prev = fit_logistic(ft, yt, classes, lambdas[i], o, i ? &prev : nullptr);
      correct[i] += prev.predict(fv).eq(yv).sum().item<double>();
      last_fold[i] = prev;
    }
    scored += hi - lo;
  }
  size_t best = 0;
  for (size_t i = 1; i < lambdas.size(); ++i)
    if (correct[i] > correct[best]) best = i;
  auto m = fit_logistic(f, y, classes, lambdas[best], o, &last_fold[best]);
  // Report in the caller's order of lambdas.
  for (double l : o.lambdas) {
    const auto it = std::find(lambdas.begin(), lambdas.end(), l);
    m.cv_accuracy.push_back(correct[it - lambdas.begin()] / double(scored));
  }
  return m;
}

}  // namespace rkhs::linear
