#include "rkhs/linear/logistic.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rkhs/compat.h"
#include "rkhs/error.h"

namespace rkhs::linear {

at::Tensor LogisticModel::logits(const at::Tensor& f) const { return torch::addmm(bias, f, weight.t()); }
at::Tensor LogisticModel::predict(const at::Tensor& f) const { return logits(f).argmax(1); }

double accuracy(const at::Tensor& predicted, const at::Tensor& labels) {
  return predicted.eq(labels).to(torch::kFloat64).mean().item<double>();
}

namespace {

// The loss of every row under every problem: logits (n, P, C), labels (n,) -> (n, P).
at::Tensor row_losses(const at::Tensor& logits, const at::Tensor& labels, const std::string& loss) {
  if (loss == "logistic") {
    const auto own = logits.gather(2, labels.view({-1, 1, 1}).expand({logits.size(0), logits.size(1), 1}));
    return logits.logsumexp(2) - own.squeeze(2);
  }
  RKHS_CHECK(loss == "squared-hinge", "CKN classifier: loss must be logistic or squared-hinge, got '" + loss + "'");
  auto t = torch::one_hot(labels, logits.size(2)).to(logits.scalar_type()).unsqueeze(1) * 2 - 1;  // +1 own, -1 else
  return (1 - t * logits).clamp_min(0).square().sum(2);
}

}  // namespace

at::Tensor classifier_loss(const at::Tensor& logits, const at::Tensor& labels, const std::string& loss) {
  if (loss == "logistic") return torch::cross_entropy_loss(logits, labels);
  return row_losses(logits.unsqueeze(1), labels, loss).mean();
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

void check_lambda(double lambda) {
  RKHS_CHECK(lambda >= 0 && std::isfinite(lambda), "logistic regression: lambda must be finite and >= 0");
}

// The solver's coordinates (issue 27). The features are centred (the bias is not penalised, so this changes
// nothing but the bias), divided by their standard deviation when options.standardize, and rotated into the
// eigenbasis V of their covariance (eigenvalues e). A problem with weight lambda is solved for v with
//   w = v * s,  s_j = (c e_j + lambda)^(-1/2),  c = kCurvature,
// w the weights of the rotated features (||w|| = ||W|| of the unrotated ones, so the penalty is unchanged). The
// objective's Hessian in v is then about the identity in every direction (the data term's curvature is about c
// times the covariance at the uniform start), where in W it spans the covariance's eigenvalues plus lambda (0 to
// 554 on the CKN's 2,048 standardised features): in the same 150 iterations the worst-conditioned problem (the
// smallest lambda) gets 5x closer to its optimum (docs/RESULTS.md "The classifier's solver, and rkhs beside the
// reference CKN"). Above kMaxRotated features the eigendecomposition costs more than it saves: the features are
// not rotated and s uses each feature's own variance.
constexpr double kCurvature = 0.1;  // p (1 - p) of a 10-class softmax at the uniform start
constexpr int64_t kMaxRotated = 8192;

struct Basis {
  at::Tensor mu, sd, rotation, eigenvalues;  // (D), (D), (D, D) or undefined, (D) float64

  at::Tensor apply(const at::Tensor& raw) const {
    auto z = (raw - mu) / sd;
    return rotation.defined() ? z.mm(rotation) : z;
  }
  // s of the docs above, one row per lambda: (P, D).
  at::Tensor scales(const std::vector<double>& lambdas) const {
    auto l = torch::tensor(lambdas, eigenvalues.options()).unsqueeze(1);
    auto curvature = eigenvalues.unsqueeze(0) * kCurvature;
    const double floor = 1e-6 * (curvature.max().item<double>() + 1e-12);
    return (curvature + l).clamp_min(floor).rsqrt().to(mu.scalar_type());
  }
};

Basis make_basis(const at::Tensor& f, bool standardize) {
  Basis b;
  b.mu = f.mean(0);
  b.sd = standardize ? f.std(0, /*unbiased=*/false).clamp_min(1e-8) : torch::ones_like(b.mu);
  // In the features' precision: a preconditioner needs no more (float32 halves the cost of the covariance and its
  // eigendecomposition: 0.9 s instead of 1.9 s for 5,000 x 2,048 on 2 cores).
  const auto z = (f - b.mu) / b.sd;
  if (f.size(1) > kMaxRotated) {
    b.eigenvalues = z.square().mean(0).to(torch::kFloat64);
    return b;
  }
  auto [e, v] = compat::eigh(z.t().mm(z) / double(f.size(0)));
  b.eigenvalues = e.to(torch::kFloat64).clamp_min(0);
  b.rotation = v;
  return b;
}

// P problems on the same rotated features z (n, D): problem p minimises
//   (1/|rows_p|) sum_{i in rows_p} L(w_p z_i + b_p, y_i) + (lambda_p / 2) ||w_p||^2
// over (v_p, b_p), w_p = v_p * s_p; rows_p = the rows where mask[:, p] = 1 (mask undefined: every row, P = 1).
// The objective is separable, so one L-BFGS run on their sum solves each, and every evaluation is one matrix
// product for all P problems (n x D times D x P C) instead of P thin ones.
struct Problems {
  at::Tensor mask;    // (n, P) of 0/1 or undefined
  at::Tensor scales;  // (P, D)
  std::vector<double> lambdas;
};

struct Solution {
  at::Tensor v, b;  // (P, C, D), (P, C)
  at::Tensor weights(const at::Tensor& scales) const { return v * scales.unsqueeze(1); }
  // Logits of every row under every problem: (n, P, C).
  at::Tensor logits(const at::Tensor& z, const at::Tensor& scales) const {
    const auto P = v.size(0), C = v.size(1);
    auto w = weights(scales).reshape({P * C, -1});
    return torch::addmm(b.reshape({P * C}), z, w.t()).view({z.size(0), P, C});
  }
};

at::Tensor objective(const Solution& s, const at::Tensor& z, const at::Tensor& y, const Problems& p,
                     const std::string& loss) {
  auto rows = row_losses(s.logits(z, p.scales), y, loss);  // (n, P)
  auto data = p.mask.defined() ? (rows * p.mask).sum(0) / p.mask.sum(0) : rows.mean(0);
  auto l = torch::tensor(p.lambdas, z.options());
  return (data + 0.5 * l * s.weights(p.scales).square().sum({1, 2})).sum();
}

Solution solve(const at::Tensor& z, const at::Tensor& y, const Problems& p, Solution s, const LogisticOptions& o) {
  s.v = s.v.detach().clone().set_requires_grad(true);
  s.b = s.b.detach().clone().set_requires_grad(true);
  torch::optim::LBFGS opt({s.v, s.b}, torch::optim::LBFGSOptions(1.0)
                                          .max_iter(o.max_iterations)
                                          .history_size(o.history)
                                          .tolerance_grad(o.tolerance)
                                          .tolerance_change(1e-10)
                                          .line_search_fn("strong_wolfe"));
  opt.step([&] {
    opt.zero_grad();
    auto loss = objective(s, z, y, p, o.loss);
    loss.backward();
    return loss;
  });
  s.v = s.v.detach();
  s.b = s.b.detach();
  RKHS_CHECK(torch::isfinite(s.v).all().item<bool>() && torch::isfinite(s.b).all().item<bool>(),
             "logistic regression: the fit diverged (the weights are not finite)");
  return s;
}

Solution zeros(int64_t problems, int64_t classes, const at::Tensor& z) {
  return {torch::zeros({problems, classes, z.size(1)}, z.options()), torch::zeros({problems, classes}, z.options())};
}

// Between the solver's coordinates (one problem, scales (1, D) / (D)) and a model of the raw features.
LogisticModel to_model(const Basis& basis, const Solution& s, const at::Tensor& scales, double lambda) {
  auto w = s.weights(scales)[0];  // (C, D), rotated
  if (basis.rotation.defined()) w = w.mm(basis.rotation.t());
  LogisticModel m;
  m.weight = w / basis.sd;
  m.bias = s.b[0] - m.weight.mv(basis.mu);
  m.lambda = lambda;
  return m;
}

Solution from_model(const Basis& basis, const LogisticModel& m, const at::Tensor& scales) {
  auto w = m.weight.detach() * basis.sd;
  if (basis.rotation.defined()) w = w.mm(basis.rotation);
  auto b = m.bias.detach() + m.weight.detach().mv(basis.mu);
  return {(w / scales).unsqueeze(0), b.unsqueeze(0)};
}

LogisticModel fit_in(const Basis& basis, const at::Tensor& z, const at::Tensor& y, int64_t classes, double lambda,
                     const LogisticOptions& o, const Solution* start) {
  Problems p{at::Tensor(), basis.scales({lambda}), {lambda}};
  auto s = solve(z, y, p, start ? *start : zeros(1, classes, z), o);
  return to_model(basis, s, p.scales, lambda);
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
  RKHS_CHECK(o.grow >= 0, "CKN classifier: the grid's growth must be >= 0, got " + std::to_string(o.grow));
}

LogisticModel fit_logistic(const at::Tensor& raw, const at::Tensor& y, int64_t classes, double lambda,
                           const LogisticOptions& o, const LogisticModel* init) {
  check_inputs(raw, y, classes);
  check_lambda(lambda);
  check_fit_options(o);
  const auto basis = make_basis(raw, o.standardize);
  const auto z = basis.apply(raw);
  if (!init) return fit_in(basis, z, y, classes, lambda, o, nullptr);
  const auto start = from_model(basis, *init, basis.scales({lambda})[0]);
  return fit_in(basis, z, y, classes, lambda, o, &start);
}

at::Tensor fold_assignment(int64_t n, const LogisticOptions& o) {
  RKHS_CHECK(n >= 2, "logistic regression: too few samples for cross-validation");
  const bool holdout = o.folds <= 1;
  const int64_t folds = holdout ? 1 : std::min<int64_t>(o.folds, n);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  auto perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong));
  auto fold = torch::full({n}, -1, torch::kLong);
  for (int64_t k = 0; k < folds; ++k) {
    const int64_t lo = holdout ? 0 : k * n / folds, hi = holdout ? std::max<int64_t>(1, n / 5) : (k + 1) * n / folds;
    fold.index_put_({perm.slice(0, lo, hi)}, k);
  }
  return fold;
}

namespace {

// The held-out score of some lambdas on the folds: problem k L + l (fold k held out, lambda l) solved in one run.
struct Scored {
  std::vector<double> correct;  // per lambda: the held-out rows classified right, over every fold
  Solution s;                   // (folds L, C, D)
};

Scored cross_validate(const at::Tensor& z, const at::Tensor& y, const at::Tensor& fold, int64_t folds,
                      const Basis& basis, const std::vector<double>& grid, const Solution& start,
                      const LogisticOptions& o) {
  const int64_t L = int64_t(grid.size());
  std::vector<double> lambdas;
  for (int64_t k = 0; k < folds; ++k) lambdas.insert(lambdas.end(), grid.begin(), grid.end());
  auto kept = fold.unsqueeze(1).ne(torch::arange(folds, fold.options()).unsqueeze(0));  // (n, folds)
  Problems p{kept.repeat_interleave(L, 1).to(z.scalar_type()), basis.scales(lambdas), lambdas};
  Scored r{{}, solve(z, y, p, start, o)};
  auto right = r.s.logits(z, p.scales).argmax(2).eq(y.unsqueeze(1)).logical_and(p.mask.eq(0));  // (n, P)
  const auto correct = right.sum(0).view({folds, L}).sum(0).to(torch::kFloat64).cpu();
  for (int64_t l = 0; l < L; ++l) r.correct.push_back(correct[l].item<double>());
  return r;
}

// Lambda l's solutions on the folds, (folds, C, D) and (folds, C), of a run over L lambdas.
Solution on_folds(const Solution& s, int64_t folds, int64_t L, int64_t l) {
  auto pick = torch::arange(folds, torch::TensorOptions().dtype(torch::kLong).device(s.v.device())) * L + l;
  return {s.v.index({pick}), s.b.index({pick})};
}

// Where the grid grows: the index of the end that is strictly the best (the smallest lambda when > 0, else the
// largest) and the lambda a decade past it; none for an interior best, a tie or a single lambda.
struct Growth {
  size_t end;
  double lambda;
};

std::optional<Growth> growth(const std::vector<double>& tried, const std::vector<double>& accuracy) {
  RKHS_CHECK(tried.size() == accuracy.size(), "grown_lambda: one accuracy per lambda expected");
  if (tried.size() < 2) return std::nullopt;
  const auto [lo, hi] = std::minmax_element(tried.begin(), tried.end());
  const auto strictly_best = [&](size_t i) {
    for (size_t j = 0; j < tried.size(); ++j)
      if (j != i && accuracy[j] >= accuracy[i]) return false;
    return true;
  };
  const auto low = size_t(lo - tried.begin()), high = size_t(hi - tried.begin());
  if (*lo > 0 && strictly_best(low)) return Growth{low, *lo / 10};
  if (strictly_best(high)) return Growth{high, *hi * 10};
  return std::nullopt;
}

}  // namespace

std::optional<double> grown_lambda(const std::vector<double>& tried, const std::vector<double>& accuracy) {
  const auto g = growth(tried, accuracy);
  return g ? std::optional<double>(g->lambda) : std::nullopt;
}

LogisticModel fit_logistic_cv(const at::Tensor& f, const at::Tensor& y, int64_t classes, const LogisticOptions& o) {
  check_inputs(f, y, classes);
  check(o);
  if (o.lambdas.size() == 1) return fit_logistic(f, y, classes, o.lambdas[0], o);
  const auto fold = fold_assignment(f.size(0), o).to(f.device());
  const int64_t folds = fold.max().item<int64_t>() + 1, L = int64_t(o.lambdas.size());
  // Every fold shares one basis, made from all the training features (their mean, deviation and covariance: no
  // label is used, so the held-out folds' labels stay unseen).
  const auto basis = make_basis(f, o.standardize);
  const auto z = basis.apply(f);
  const auto grid = cross_validate(z, y, fold, folds, basis, o.lambdas, zeros(folds * L, classes, z), o);
  std::vector<double> tried = o.lambdas, correct = grid.correct;
  std::vector<Solution> solutions;  // per lambda tried: its folds' solutions
  for (int64_t l = 0; l < L; ++l) solutions.push_back(on_folds(grid.s, folds, L, l));
  // The grid grows past an end that wins, started from that end's solutions (the same weights w = v s).
  for (int64_t grown = 0; grown < o.grow; ++grown) {
    const auto next = growth(tried, correct);
    if (!next) break;
    const auto& from = solutions[next->end];
    const auto rescale = basis.scales({tried[next->end]}) / basis.scales({next->lambda});
    const Solution start{from.v * rescale.unsqueeze(1), from.b};
    const auto more = cross_validate(z, y, fold, folds, basis, {next->lambda}, start, o);
    tried.push_back(next->lambda);
    correct.push_back(more.correct[0]);
    solutions.push_back(more.s);
  }
  // The best lambda; ties go to the larger (the stronger regularisation).
  size_t best = 0;
  for (size_t l = 1; l < tried.size(); ++l)
    if (correct[l] > correct[best] || (correct[l] == correct[best] && tried[l] > tried[best])) best = l;
  // The refit on every row, started from the folds' mean solution at that lambda.
  const Solution start{solutions[best].v.mean(0, true), solutions[best].b.mean(0, true)};
  auto m = fit_in(basis, z, y, classes, tried[best], o, &start);
  const double scored = double(fold.ge(0).sum().item<int64_t>());
  m.cv_lambdas = tried;
  for (double c : correct) m.cv_accuracy.push_back(c / scored);
  return m;
}

}  // namespace rkhs::linear
