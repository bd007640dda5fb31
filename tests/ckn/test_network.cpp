// Multi-layer CKN: feature map, patch sampling, unsupervised and supervised training end to end on small
// synthetic images; the logistic-regression classifier; saved weights reload to the same predictions.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "rkhs/linear/logistic.h"
#include "rkhs/ckn/network.h"
#include "rkhs/error.h"
#include "rkhs/core/state.h"
#include "warning_capture.h"

using namespace rkhs::ckn;
using rkhs::linear::grown_lambda;

namespace {

// n images (1, 12, 12) of three classes: horizontal, vertical and diagonal sine stripes with random phase and
// period, plus noise.
std::pair<at::Tensor, at::Tensor> stripes(int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto y = torch::randint(0, 3, {n}, gen);
  auto phase = torch::rand({n, 1, 1}, gen) * 6.283;
  auto period = 3 + torch::rand({n, 1, 1}, gen) * 3;
  auto i = torch::arange(12, torch::kFloat32).view({1, 12, 1}).expand({n, 12, 12});
  auto j = torch::arange(12, torch::kFloat32).view({1, 1, 12}).expand({n, 12, 12});
  auto yy = y.view({n, 1, 1});
  auto coord = torch::where(yy == 0, i, torch::where(yy == 1, j, (i + j) / 1.414));
  auto x = (coord * 6.283 / period + phase).sin() + 0.3 * torch::randn({n, 12, 12}, gen);
  return {standardize_images(x.unsqueeze(1)), y};
}

NetworkOptions small_net() {
  NetworkOptions o;
  o.in_channels = 1;
  o.filters = {8, 16};
  o.patch = {3};
  o.subsample = {2, 3};
  o.sigma = {0.6};
  return o;
}

}  // namespace

TEST(CKNNetwork, FeatureDimAndNormalisation) {
  Network net(small_net());
  auto [x, y] = stripes(10, 1);
  auto f = net->extract(x, 4);
  EXPECT_EQ(f.size(1), net->feature_dim(12, 12));
  EXPECT_EQ(net->feature_dim(12, 12), 16 * 2 * 2);  // 12 -> 6 -> 2
  EXPECT_TRUE(torch::allclose(f.norm(2, 1), torch::ones({10}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(f.mean(1), torch::zeros({10}), 1e-5, 1e-6));
  EXPECT_TRUE(net->is_training());  // extract restores the mode
}

TEST(CKNNetwork, OptionListsAreValidated) {
  auto o = small_net();
  o.patch = {3, 3, 3};
  EXPECT_THROW(Network{o}, rkhs::Error);
  o = small_net();
  o.filters = {};
  EXPECT_THROW(Network{o}, rkhs::Error);
}

TEST(CKNNetwork, StandardizeImages) {
  auto x = torch::randn({4, 1, 5, 5}) * 3 + 2;
  x[3].fill_(7);  // constant image
  auto s = standardize_images(x).view({4, -1});
  EXPECT_TRUE(torch::allclose(s.slice(0, 0, 3).mean(1), torch::zeros({3}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(s.slice(0, 0, 3).square().mean(1), torch::ones({3}), 1e-4, 1e-4));
  EXPECT_TRUE(s[3].eq(0).all().item<bool>());
}

TEST(CKNNetwork, SamplePatchesSkipsConstantOnes) {
  Network net(small_net());
  // Left half constant, right half noise: only patches touching the noise count.
  auto x = torch::zeros({4, 1, 12, 12});
  x.slice(3, 6, 12).copy_(torch::randn({4, 1, 12, 6}));
  auto p = sample_patches(net, 0, x, 10000, 3);
  EXPECT_LE(p.size(0), 4 * 12 * 7);  // columns 5..11 have a patch touching the noise
  EXPECT_GT(p.size(0), 4 * 12 * 5);
  EXPECT_TRUE(torch::allclose(p.norm(2, 1), torch::ones({p.size(0)}), 1e-5, 1e-5));
  auto q = sample_patches(net, 0, x, 50, 3);
  EXPECT_EQ(q.size(0), 50);
  // Constant inputs: every patch of an all-zero image is constant (with the zero padding, a constant non-zero
  // image still has non-constant patches on its border).
  EXPECT_THROW(sample_patches(net, 0, torch::zeros({2, 1, 12, 12}), 10, 0), rkhs::Error);
}

TEST(CKNNetwork, UnsupervisedBeatsChanceWidely) {
  auto [x, y] = stripes(600, 5);
  auto [tx, ty] = stripes(300, 6);
  Network net(small_net());
  UnsupervisedOptions uo;
  uo.patches = 3000;
  uo.seed = 1;
  auto rep = train_unsupervised(net, x, uo);
  ASSERT_EQ(rep.mean_cosine.size(), 2u);
  EXPECT_GT(rep.mean_cosine[0], 0.5);
  LogisticOptions lo;
  lo.lambdas = {1e-2, 1e-4};
  lo.grow = 0;
  lo.max_iterations = 100;
  auto clf = fit_logistic_cv(net->extract(x), y, 3, lo);
  EXPECT_EQ(clf.cv_accuracy.size(), 2u);
  const double acc = accuracy(clf.predict(net->extract(tx)), ty);
  EXPECT_GT(acc, 0.9);  // chance is 1/3

  // Saved weights reload into a fresh network with identical features.
  char path[] = "/tmp/rkhs_ckn_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  rkhs::core::save_weights(path, *net);
  Network other(small_net());
  rkhs::core::load_weights(path, *other);
  std::remove(path);
  EXPECT_TRUE(other->extract(tx).equal(net->extract(tx)));
}

// A two-layer CKN trained by k-means on the stripes, with a logistic classifier fitted on its features: the start of
// the supervised tests.
namespace {

struct SupervisedStart {
  at::Tensor x, y;
  Network net{nullptr};
  LogisticOptions lo;
  LogisticModel clf;
};

SupervisedStart supervised_start() {
  SupervisedStart s;
  std::tie(s.x, s.y) = stripes(300, 7);
  auto o = small_net();
  o.filters = {4, 8};
  s.net = Network(o);
  UnsupervisedOptions uo;
  uo.patches = 1000;
  train_unsupervised(s.net, s.x, uo);
  s.lo.lambdas = {1e-3};
  s.lo.max_iterations = 50;
  s.clf = fit_logistic(s.net->extract(s.x), s.y, 3, 1e-3, s.lo);
  return s;
}

}  // namespace

TEST(CKNNetwork, SupervisedTrainingLowersTheLossAndKeepsUnitFilters) {
  auto [x, y, net, lo, clf] = supervised_start();
  SupervisedOptions so;
  so.epochs = 3;
  so.lr = 1e-4;
  so.batch_size = 32;
  auto rep = train_supervised(net, x, y, 3, clf, lo, so);
  EXPECT_EQ(rep.restarts, 0);
  ASSERT_EQ(rep.train_loss.size(), 3u);
  EXPECT_LT(rep.train_loss.back(), rep.train_loss.front());
  // |W|_2 of each epoch's refitted classifier: between its largest row norm and its Frobenius norm.
  ASSERT_EQ(rep.classifier_norm.size(), 3u);
  for (double v : rep.classifier_norm) EXPECT_TRUE(std::isfinite(v) && v > 0) << v;
  const double last = rep.classifier_norm.back(), rows = clf.weight.norm(2, 1).max().item<double>();
  // The final refit starts from the last epoch's classifier and changes it little at this rate.
  EXPECT_GT(last, 0.5 * rows);
  EXPECT_LT(last, 2.0 * clf.weight.norm().item<double>());
  for (size_t l = 0; l < net->depth(); ++l)
    EXPECT_TRUE(torch::allclose(net->layer(l)->filters.norm(2, 1), torch::ones({net->layer(l)->options.filters}),
                                1e-5, 1e-5));
  EXPECT_FALSE(net->is_training());
}

// Adam as the filters' optimizer: the loss falls, the filters stay on the sphere, and an unknown name is an error.
TEST(CKNNetwork, SupervisedTrainingWithAdam) {
  auto [x, y, net, lo, clf] = supervised_start();
  const auto before = net->layer(0)->filters.detach().clone();
  SupervisedOptions so;
  so.epochs = 3;
  so.lr = 1e-3;
  so.batch_size = 32;
  so.optimizer = "adam";
  auto rep = train_supervised(net, x, y, 3, clf, lo, so);
  EXPECT_EQ(rep.restarts, 0);
  ASSERT_EQ(rep.train_loss.size(), 3u);
  EXPECT_LT(rep.train_loss.back(), rep.train_loss.front());
  EXPECT_FALSE(net->layer(0)->filters.equal(before));  // the steps reached the filters
  for (size_t l = 0; l < net->depth(); ++l)
    EXPECT_TRUE(torch::allclose(net->layer(l)->filters.norm(2, 1), torch::ones({net->layer(l)->options.filters}),
                                1e-5, 1e-5));
  so.optimizer = "rmsprop";
  EXPECT_THROW(train_supervised(net, x, y, 3, clf, lo, so), rkhs::Error);
}

// The report's features are the final filters' features (what the last refit saw), and handing the start features
// to train_supervised (saving one extraction) changes nothing: the same filters and classifier come out.
TEST(CKNNetwork, SupervisedTrainingReturnsItsFeaturesAndAcceptsTheStartFeatures) {
  SupervisedOptions so;
  so.epochs = 2;
  so.lr = 1e-3;
  so.batch_size = 32;
  so.optimizer = "adam";
  auto a = supervised_start();
  auto rep_a = train_supervised(a.net, a.x, a.y, 3, a.clf, a.lo, so);
  auto b = supervised_start();
  const auto start = b.net->extract(b.x);
  auto rep_b = train_supervised(b.net, b.x, b.y, 3, b.clf, b.lo, so, start);
  ASSERT_TRUE(rep_a.features.defined());
  EXPECT_TRUE(torch::allclose(rep_a.features, a.net->extract(a.x), 1e-6, 1e-6));
  EXPECT_TRUE(rep_a.features.equal(rep_b.features));
  for (size_t l = 0; l < a.net->depth(); ++l) EXPECT_TRUE(a.net->layer(l)->filters.equal(b.net->layer(l)->filters));
  EXPECT_TRUE(a.clf.weight.equal(b.clf.weight));
  EXPECT_EQ(rep_a.start_loss, rep_b.start_loss);
  EXPECT_THROW(train_supervised(b.net, b.x, b.y, 3, b.clf, b.lo, so, start.slice(0, 0, 10)), rkhs::Error);
}

// A hold-out (validation_fraction): every state is scored, the best is kept (ties: the earlier) with its filters and
// classifier, and the returned features are those of all the images, in their order, under the kept filters. The
// kept state is checked against a run stopped at that epoch (same stream of batches, constant learning rate).
// Labels 30% random so that the hold-out accuracy is not saturated; on this machine one SGD epoch at a huge rate
// keeps the last state (features put back in order) and three Adam epochs the second (filters restored), so both
// ends of the code run.
TEST(CKNNetwork, SupervisedHoldOutKeepsTheBestEpoch) {
  struct Run {
    SupervisedReport rep;
    std::vector<at::Tensor> filters;
    at::Tensor weight, all_features;
  };
  auto run = [](const std::string& optimizer, double lr, int64_t epochs) {
    auto s = supervised_start();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    auto flip = torch::rand({s.y.size(0)}, gen) < 0.3;
    s.y = torch::where(flip, torch::randint(0, 3, {s.y.size(0)}, gen), s.y);
    s.clf = fit_logistic(s.net->extract(s.x), s.y, 3, 1e-3, s.lo);
    Run r;
    SupervisedOptions so;
    so.epochs = epochs;
    so.lr = lr;
    so.milestones = {100};
    so.batch_size = 32;
    so.optimizer = optimizer;
    so.divergence_factor = 1e9;
    so.validation_fraction = 0.3;
    r.rep = train_supervised(s.net, s.x, s.y, 3, s.clf, s.lo, so);
    for (size_t l = 0; l < s.net->depth(); ++l) r.filters.push_back(s.net->layer(l)->filters.detach().clone());
    r.weight = s.clf.weight;
    r.all_features = s.net->extract(s.x);
    return r;
  };
  for (auto [optimizer, lr, epochs] : {std::tuple<std::string, double, int64_t>{"sgd", 100.0, 1}, {"adam", 1e-2, 3}}) {
    SCOPED_TRACE(optimizer);
    const auto a = run(optimizer, lr, epochs);
    const auto& acc = a.rep.validation_accuracy;
    ASSERT_EQ(acc.size(), size_t(epochs + 1));
    for (double v : acc) EXPECT_TRUE(v >= 0 && v <= 1);
    EXPECT_EQ(a.rep.best_epoch, std::max_element(acc.begin(), acc.end()) - acc.begin());
    ASSERT_GT(a.rep.best_epoch, 0);  // the epochs help on this task
    EXPECT_GT(acc[a.rep.best_epoch], acc[0]);
    EXPECT_TRUE(torch::allclose(a.rep.features, a.all_features, 1e-6, 1e-6));
    const auto b = run(optimizer, lr, a.rep.best_epoch);  // stopped at the kept epoch
    // The restored filters are renormalised onto the sphere (set_filters): equal up to rounding.
    for (size_t l = 0; l < a.filters.size(); ++l) EXPECT_TRUE(torch::allclose(a.filters[l], b.filters[l], 0, 1e-6)) << l;
    EXPECT_TRUE(a.weight.equal(b.weight));
  }
}

// The option checks that run_ckn calls before any work: each names the offending flag.
TEST(CKNNetwork, OptionChecksNameTheBadOption) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const rkhs::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SupervisedOptions so;
  EXPECT_EQ(message([&] { check(so); }), "no error");
  so.epochs = 0;
  EXPECT_NE(message([&] { check(so); }).find("--epochs"), std::string::npos);
  so.epochs = 1;
  so.lr = 0;
  EXPECT_NE(message([&] { check(so); }).find("--lr"), std::string::npos);
  so.lr = 0.01;
  so.optimizer = "rmsprop";
  EXPECT_NE(message([&] { check(so); }).find("sgd or adam"), std::string::npos);
  UnsupervisedOptions uo;
  EXPECT_EQ(message([&] { check(uo); }), "no error");
  uo.patches = 0;
  EXPECT_NE(message([&] { check(uo); }).find("--patches"), std::string::npos);
  LogisticOptions lo;
  EXPECT_EQ(message([&] { check(lo); }), "no error");
  lo.lambdas = {1e-3, -1};
  EXPECT_NE(message([&] { check(lo); }).find("--lambdas"), std::string::npos);
  lo.lambdas = {};
  EXPECT_NE(message([&] { check(lo); }).find("--lambdas"), std::string::npos);
  lo.lambdas = {1e-3};
  lo.folds = 0;
  EXPECT_NE(message([&] { check(lo); }).find("--folds"), std::string::npos);
  lo.folds = 3;
  lo.loss = "hinge";
  EXPECT_NE(message([&] { check(lo); }).find("logistic or squared-hinge"), std::string::npos);
}

// The divergence guard: with a learning rate far too large the first epoch blows up; the filters are restored and
// the epoch rerun with lr / 10 until the loss stays sane, and without restarts left the run throws instead of
// returning a network trained into garbage.
TEST(CKNNetwork, SupervisedTrainingRestartsADivergedEpochWithASmallerRate) {
  auto [x, y] = stripes(300, 7);
  auto o = small_net();
  o.filters = {4, 8};
  UnsupervisedOptions uo;
  uo.patches = 1000;
  LogisticOptions lo;
  lo.lambdas = {1e-3};
  lo.max_iterations = 50;
  SupervisedOptions so;
  so.epochs = 2;
  so.lr = 1e4;
  so.batch_size = 16;
  {
    Network net(o);
    train_unsupervised(net, x, uo);
    auto clf = fit_logistic(net->extract(x), y, 3, 1e-3, lo);
    rkhs::testing::WarningCapture capture;
    so.max_restarts = 8;
    auto rep = train_supervised(net, x, y, 3, clf, lo, so);
    const auto& warnings = capture.messages;
    EXPECT_GE(rep.restarts, 1);
    ASSERT_EQ(rep.train_loss.size(), 2u);
    ASSERT_EQ(rep.lr.size(), 2u);
    EXPECT_LE(rep.lr[0], so.lr * 0.1);
    EXPECT_EQ(warnings.size(), size_t(rep.restarts));
    for (size_t e = 0; e < 2; ++e) {
      EXPECT_TRUE(std::isfinite(rep.train_loss[e]));
      EXPECT_LE(rep.train_loss[e], std::max(std::log(3.0), 2 * rep.start_loss[e]));
    }
    EXPECT_TRUE(torch::isfinite(clf.weight).all().item<bool>());
  }
  {
    Network net(o);
    train_unsupervised(net, x, uo);
    auto clf = fit_logistic(net->extract(x), y, 3, 1e-3, lo);
    rkhs::testing::WarningCapture capture;  // keeps the expected warnings off the test output
    so.max_restarts = 0;
    EXPECT_THROW(train_supervised(net, x, y, 3, clf, lo, so), rkhs::Error);
  }
}

TEST(LogisticRegression, SeparableDataAndCrossValidation) {
  torch::manual_seed(3);
  auto x = torch::randn({300, 5});
  auto y = std::get<1>(x.mm(torch::randn({5, 3})).max(1));  // 3 linearly separable classes
  LogisticOptions o;
  o.lambdas = {1e-4, 10.0};
  o.grow = 0;
  auto m = fit_logistic_cv(x, y, 3, o);
  EXPECT_EQ(m.lambda, 1e-4);  // lambda = 10 shrinks the weights far too much
  ASSERT_EQ(m.cv_accuracy.size(), 2u);
  EXPECT_GT(m.cv_accuracy[0], m.cv_accuracy[1]);
  EXPECT_GT(accuracy(m.predict(x), y), 0.95);
  // The optimum: the gradient of the objective vanishes.
  auto w = m.weight.clone().requires_grad_(true);
  auto b = m.bias.clone().requires_grad_(true);
  auto loss = torch::cross_entropy_loss(torch::addmm(b, x, w.t()), y) + 0.5 * m.lambda * w.square().sum();
  loss.backward();
  EXPECT_LT(w.grad().abs().max().item<double>(), 1e-3);
  EXPECT_LT(b.grad().abs().max().item<double>(), 1e-3);
}

namespace {

// The held-out accuracy of lambda over 3 folds, every fold fitted alone with fit_logistic on the other rows.
double fold_by_fold_accuracy(const at::Tensor& x, const at::Tensor& y, const at::Tensor& fold, double lambda,
                             const LogisticOptions& o) {
  double correct = 0;
  for (int64_t k = 0; k < 3; ++k) {
    const auto held = fold.eq(k), kept = fold.ne(k);
    const auto alone = fit_logistic(x.index({kept}), y.index({kept}), 3, lambda, o);
    correct += alone.predict(x.index({held})).eq(y.index({held})).sum().item<double>();
  }
  return correct / double(x.size(0));
}

}  // namespace

// The cross-validation fits every (fold, lambda) problem in one L-BFGS run on the sum of their objectives; each
// problem must still reach its own optimum: the held-out accuracies equal those of fitting every fold alone with
// fit_logistic on the rows fold_assignment names (unstandardised features, so both fit the same objective).
TEST(LogisticRegression, JointCrossValidationEqualsFoldByFoldFits) {
  torch::manual_seed(5);
  const int64_t n = 240;
  auto x = torch::randn({n, 6}, torch::kDouble);
  auto y = (x.mm(torch::randn({6, 3}, torch::kDouble)) + torch::randn({n, 3}, torch::kDouble)).argmax(1);
  LogisticOptions o;
  o.lambdas = {0.3, 1e-3};
  o.grow = 0;
  o.standardize = false;
  o.tolerance = 1e-9;
  o.max_iterations = 500;
  o.seed = 7;
  const auto m = fit_logistic_cv(x, y, 3, o);
  const auto fold = fold_assignment(n, o);
  for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(fold.eq(k).sum().item<int64_t>(), n / 3);
  ASSERT_EQ(m.cv_accuracy.size(), 2u);
  for (size_t l = 0; l < 2; ++l)
    EXPECT_DOUBLE_EQ(m.cv_accuracy[l], fold_by_fold_accuracy(x, y, fold, o.lambdas[l], o)) << "lambda " << o.lambdas[l];
  EXPECT_NE(m.cv_accuracy[0], m.cv_accuracy[1]);  // the two lambdas are told apart
  o.folds = 1;  // one hold-out fifth: fold 0, every other row -1
  const auto holdout = fold_assignment(n, o);
  EXPECT_EQ(holdout.eq(0).sum().item<int64_t>(), n / 5);
  EXPECT_EQ(holdout.eq(-1).sum().item<int64_t>(), n - n / 5);
}

// Where the grid grows: past an end that is strictly the best, by a decade; never from an interior best, a tie,
// a single lambda or a smallest lambda of 0.
TEST(LogisticRegression, GridGrowsPastAnEndThatWins) {
  EXPECT_DOUBLE_EQ(grown_lambda({1e-2, 1e-3}, {0.8, 0.9}).value_or(-1), 1e-4);
  EXPECT_DOUBLE_EQ(grown_lambda({1e-3, 1e-2}, {0.8, 0.9}).value_or(-1), 1e-1);
  EXPECT_EQ(grown_lambda({1e-1, 1e-2, 1e-3}, {0.8, 0.9, 0.85}), std::nullopt);
  EXPECT_EQ(grown_lambda({1e-2, 1e-3}, {0.9, 0.9}), std::nullopt);
  EXPECT_EQ(grown_lambda({1e-2}, {0.9}), std::nullopt);
  EXPECT_EQ(grown_lambda({0.0, 1e-3}, {0.9, 0.8}), std::nullopt);
  EXPECT_DOUBLE_EQ(grown_lambda({0.0, 1e-3}, {0.8, 0.9}).value_or(-1), 1e-2);
  EXPECT_THROW(grown_lambda({1e-2, 1e-3}, {0.9}), rkhs::Error);
}

// A grid whose smallest lambda wins grows below it; every lambda it grows by is scored as the grid's own are: its
// held-out accuracy equals that of fitting every fold alone with fit_logistic (as in the test above).
TEST(LogisticRegression, GrownLambdasAreCrossValidatedLikeTheGrid) {
  torch::manual_seed(5);
  const int64_t n = 240;
  auto x = torch::randn({n, 6}, torch::kDouble);
  auto y = (x.mm(torch::randn({6, 3}, torch::kDouble)) + 0.3 * torch::randn({n, 3}, torch::kDouble)).argmax(1);
  LogisticOptions o;
  o.lambdas = {30.0, 3.0};
  o.standardize = false;
  o.tolerance = 1e-9;
  o.max_iterations = 500;
  o.seed = 7;
  o.grow = 2;
  const auto m = fit_logistic_cv(x, y, 3, o);
  ASSERT_GE(m.cv_lambdas.size(), 3u);
  ASSERT_LE(m.cv_lambdas.size(), 4u);
  ASSERT_EQ(m.cv_accuracy.size(), m.cv_lambdas.size());
  EXPECT_EQ(m.cv_lambdas[0], 30.0);
  EXPECT_EQ(m.cv_lambdas[1], 3.0);
  EXPECT_DOUBLE_EQ(m.cv_lambdas[2], 0.3);
  EXPECT_LT(m.lambda, 3.0);
  const auto fold = fold_assignment(n, o);
  for (size_t l = 2; l < m.cv_lambdas.size(); ++l)
    EXPECT_DOUBLE_EQ(m.cv_accuracy[l], fold_by_fold_accuracy(x, y, fold, m.cv_lambdas[l], o))
        << "lambda " << m.cv_lambdas[l];
  o.grow = 0;  // the grid as given
  const auto given = fit_logistic_cv(x, y, 3, o);
  EXPECT_EQ(given.cv_lambdas, o.lambdas);
  EXPECT_EQ(given.lambda, 3.0);
  o.grow = -1;
  EXPECT_THROW(check(o), rkhs::Error);
}

TEST(LogisticRegression, RejectsBadInput) {
  LogisticOptions o;
  auto x = torch::randn({10, 3});
  auto y = torch::zeros({10}, torch::kLong);
  EXPECT_THROW(fit_logistic(x, torch::full({10}, 5, torch::kLong), 3, 1e-3, o), rkhs::Error);
  EXPECT_THROW(fit_logistic(x, y.slice(0, 0, 9), 3, 1e-3, o), rkhs::Error);
  x[2][1] = NAN;
  EXPECT_THROW(fit_logistic(x, y, 3, 1e-3, o), rkhs::Error);
}

// One-vs-rest squared hinge: the loss against an element-by-element float64 formula; at the returned optimum the
// gradient of the objective, written out by hand (not autograd), vanishes; with two classes the two one-vs-rest
// problems are mirror images, so the rows of W (and b) are opposite.
TEST(SquaredHinge, LossOptimumAndSymmetry) {
  torch::manual_seed(4);
  auto s = torch::randn({6, 3}, torch::kDouble);
  auto yl = torch::tensor({0, 2, 1, 1, 0, 2}, torch::kLong);
  double ref = 0;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t c = 0; c < 3; ++c) {
      const double t = c == yl[i].item<int64_t>() ? 1 : -1;
      ref += std::pow(std::max(0.0, 1 - t * s[i][c].item<double>()), 2);
    }
  EXPECT_NEAR(classifier_loss(s, yl, "squared-hinge").item<double>(), ref / 6, 1e-12);
  EXPECT_THROW(classifier_loss(s, yl, "hinge"), rkhs::Error);

  auto x = torch::randn({200, 4}, torch::kDouble);
  auto y = (x.select(1, 0) + 0.5 * x.select(1, 1) + 0.3 * torch::randn({200}, torch::kDouble) > 0).to(torch::kLong);
  LogisticOptions o;
  o.loss = "squared-hinge";
  o.tolerance = 1e-10;
  o.standardize = false;  // (standardised fits penalise W * sd, a different objective)
  const double lambda = 0.01;
  auto m = fit_logistic(x, y, 2, lambda, o);
  EXPECT_GT(accuracy(m.predict(x), y), 0.85);
  EXPECT_TRUE(torch::allclose(m.weight[0], -m.weight[1], 1e-5, 1e-5));
  EXPECT_NEAR(m.bias[0].item<double>(), -m.bias[1].item<double>(), 1e-5);
  // d/dW_c = (1/n) sum_i -2 t_ic max(0, 1 - t_ic s_ic) x_i + lambda W_c;  d/db_c without the lambda term.
  auto t = torch::one_hot(y, 2).to(torch::kDouble) * 2 - 1;
  auto margin = (1 - t * m.logits(x)).clamp_min(0);
  auto coef = -2 * t * margin / 200.0;  // (n, 2)
  auto gw = coef.t().mm(x) + lambda * m.weight, gb = coef.sum(0);
  EXPECT_LT(gw.abs().max().item<double>(), 1e-5);
  EXPECT_LT(gb.abs().max().item<double>(), 1e-5);
  o.loss = "hinge";
  EXPECT_THROW(fit_logistic(x, y, 2, lambda, o), rkhs::Error);
}
