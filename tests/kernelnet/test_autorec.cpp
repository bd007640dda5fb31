// AutoRec on a synthetic low-rank rating matrix; the bias baseline on exactly additive ratings.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <array>
#include <random>
#include <tuple>

#include "rkhs/data/ratings.h"
#include "rkhs/error.h"
#include "rkhs/gradcheck.h"
#include "rkhs/kernelnet/autorec.h"
#include "rkhs/kernelnet/bias_baseline.h"

using namespace rkhs::kernelnet;
using rkhs::data::Ratings;
using rkhs::data::RatingsSplit;

namespace {

// users x items ratings 3 + U V^T (rank 2) in about [1, 5], 60% observed, a random 20% of those held out.
RatingsSplit low_rank(int64_t users, int64_t items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0, 1);
  std::uniform_real_distribution<double> u01(0, 1);
  std::vector<std::array<double, 2>> U(users), V(items);
  for (auto& u : U) u = {n01(rng) * 0.8, n01(rng) * 0.8};
  for (auto& v : V) v = {n01(rng) * 0.8, n01(rng) * 0.8};
  Ratings all;
  all.name = "low-rank";
  for (int64_t u = 0; u < users; ++u) all.user_ids.push_back(u);
  for (int64_t i = 0; i < items; ++i) all.item_ids.push_back(i);
  for (int64_t u = 0; u < users; ++u)
    for (int64_t i = 0; i < items; ++i)
      if (u01(rng) < 0.6) {
        all.user.push_back(u);
        all.item.push_back(i);
        all.rating.push_back(static_cast<float>(3 + U[u][0] * V[i][0] + U[u][1] * V[i][1]));
      }
  RatingsSplit s;
  std::tie(s.train, s.test) = rkhs::data::split_ratings(all, 0.2, seed);
  return s;
}

double global_mean_rmse(const RatingsSplit& s) {
  double mu = 0;
  for (float r : s.train.rating) mu += r;
  mu /= double(s.train.size());
  double e = 0;
  for (float r : s.test.rating) e += (r - mu) * (r - mu);
  return std::sqrt(e / double(s.test.size()));
}

}  // namespace

class AutoRecFit : public ::testing::TestWithParam<const char*> {};

TEST_P(AutoRecFit, LowRankMatrixFarBetterThanTheGlobalMean) {
  const auto split = low_rank(40, 60, 5);
  AutoRecOptions o;
  o.layer = GetParam();
  o.layers = 1;
  o.hidden = 16;
  o.layer_options.lambda2 = 0.5;
  o.layer_options.lambda_s = 0.01;
  o.layer_options.dim = o.layer == std::string("kernel") ? 8 : 3;
  o.outer_loops = 4;
  o.lbfgs_iterations = 50;
  o.progress = false;
  torch::manual_seed(0);
  AutoRec model(split.train.num_users(), o);
  int loops = 0;
  auto r = fit_autorec(model, split, o, [&](const LoopRecord&) { ++loops; });
  EXPECT_EQ(loops, 4);
  ASSERT_EQ(r.history.size(), 4u);
  const double base = global_mean_rmse(split);
  EXPECT_LT(r.test_rmse, 0.6 * base) << o.layer << ": test RMSE " << r.test_rmse << " vs global mean " << base;
  EXPECT_LT(r.train_rmse, r.history.front().train_rmse + 1e-9);
  EXPECT_EQ(r.parameters, model->parameter_count());
  EXPECT_GT(r.macs, 0);
}

INSTANTIATE_TEST_SUITE_P(Layers, AutoRecFit, ::testing::Values("dense", "kernel", "sparse"));

TEST(AutoRec, RatingMatrixAndClippedRmse) {
  Ratings r;
  r.user_ids = {10, 20};
  r.item_ids = {1, 2, 3};
  r.user = {0, 1, 1};
  r.item = {2, 0, 2};
  r.rating = {4, 2, 5};
  auto [m, mask] = rating_matrix(r);
  EXPECT_TRUE(torch::equal(m, torch::tensor({{0.f, 2.f}, {0.f, 0.f}, {4.f, 5.f}})));
  EXPECT_TRUE(torch::equal(mask, torch::tensor({{0.f, 1.f}, {0.f, 0.f}, {1.f, 1.f}})));
  // Predictions 9 (clipped to 5), 2, 3: errors 1 (4 vs 5), 0, 2.
  auto p = torch::tensor({{0.f, 2.f}, {0.f, 0.f}, {9.f, 3.f}});
  EXPECT_NEAR(rmse(p, r, 1, 5), std::sqrt((1.0 + 0 + 4) / 3), 1e-12);
}

TEST(AutoRec, NaNLossIsAnErrorNamingTheLoop) {
  const auto split = low_rank(10, 12, 1);
  AutoRecOptions o;
  o.layer = "dense";
  o.layers = 1;
  o.hidden = 4;
  o.outer_loops = 2;
  o.progress = false;
  AutoRec model(split.train.num_users(), o);
  {
    torch::NoGradGuard g;
    model->layers[0]->bias[0] = NAN;
  }
  try {
    fit_autorec(model, split, o);
    FAIL() << "no error";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("outer loop 1"), std::string::npos) << e.what();
  }
}

// Ratings that are exactly mu + b_u + b_i: with lambda = 0 the alternating updates recover them.
TEST(BiasBaseline, RecoversAdditiveRatingsAndSelectsOnValidation) {
  Ratings r;
  for (int64_t u = 0; u < 30; ++u) r.user_ids.push_back(u);
  for (int64_t i = 0; i < 20; ++i) r.item_ids.push_back(i);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u01(0, 1);
  for (int64_t u = 0; u < 30; ++u)
    for (int64_t i = 0; i < 20; ++i)
      if (u01(rng) < 0.5) {
        r.user.push_back(u);
        r.item.push_back(i);
        r.rating.push_back(static_cast<float>(3 + 0.05 * double(u - 15) + 0.1 * double(i - 10)));
      }
  auto [train, test] = rkhs::data::split_ratings(r, 0.2, 1);
  BiasModel m = fit_bias(train, 0, 200);
  EXPECT_LT(bias_rmse(m, test, 0, 10), 1e-3);
  auto sel = select_bias(train, {0, 1, 100}, 0.1, 2);
  EXPECT_EQ(sel.validation_rmse.size(), 3u);
  EXPECT_LT(sel.lambda, 100);  // heavy shrinkage is worse on noiseless data
  EXPECT_THROW(fit_bias(train, -1), rkhs::Error);
}

// The sparse training path (embedding bag in, pair products out) against the dense network, in float64.
TEST(AutoRecSparsePath, PairDotGradcheckIncludingRepeatedIndices) {
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  auto h = torch::randn({5, 3}, opts), w = torch::randn({4, 3}, opts);
  auto rows = torch::tensor({0, 0, 4, 2, 2, 1}, torch::kLong), cols = torch::tensor({3, 1, 0, 0, 3, 3}, torch::kLong);
  auto ref = (h.detach() * 1).mm(w.detach().t());
  auto p = pair_dot(h, w, rows, cols);
  for (int64_t k = 0; k < rows.size(0); ++k)
    EXPECT_NEAR(p[k].item<double>(), ref[rows[k].item<int64_t>()][cols[k].item<int64_t>()].item<double>(), 1e-12);
  auto res = rkhs::gradcheck([&](const std::vector<at::Tensor>& in) { return pair_dot(in[0], in[1], rows, cols); },
                             {h, w});
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_THROW(pair_dot(h, w, rows, torch::tensor({3, 1, 0, 0, 3, 4}, torch::kLong)), rkhs::Error);
  EXPECT_THROW(pair_dot(h, w.t(), rows, cols), rkhs::Error);
}

TEST(AutoRecSparsePath, SparseMatmulMatchesTheDenseProductAndGradchecks) {
  torch::manual_seed(4);
  auto x = torch::randn({4, 3}, torch::TensorOptions().dtype(torch::kDouble).requires_grad(true));
  auto rows = torch::tensor({0, 2, 2, 2, 4}, torch::kLong), cols = torch::tensor({1, 0, 3, 0, 3}, torch::kLong);
  auto values = torch::tensor({0.5, -1.0, 2.0, 3.0, 1.5}, torch::kDouble);
  auto s = torch::zeros({5, 4}, torch::kDouble);  // the same matrix, dense (the repeated (2, 0) adds up)
  s[0][1] = 0.5;
  s[2][0] = 2.0;
  s[2][3] = 2.0;
  s[4][3] = 1.5;
  auto y = sparse_matmul(rows, cols, values, 5, x);
  EXPECT_LT((y - s.mm(x.detach())).abs().max().item<double>(), 1e-14);
  auto res = rkhs::gradcheck([&](const std::vector<at::Tensor>& in) { return sparse_matmul(rows, cols, values, 5, in[0]); },
                             {x});
  EXPECT_TRUE(res.ok) << res.message;
  EXPECT_THROW(sparse_matmul(rows, cols, values, 4, x), rkhs::Error);                      // row 4 of 4
  EXPECT_THROW(sparse_matmul(rows, cols, values.to(torch::kFloat), 5, x), rkhs::Error);    // dtype
  EXPECT_THROW(sparse_matmul(rows, cols, values.clone().requires_grad_(), 5, x), rkhs::Error);
}

class AutoRecSparseMatchesDense : public ::testing::TestWithParam<const char*> {};

TEST_P(AutoRecSparseMatchesDense, PredictionsLossAndGradients) {
  const auto split = low_rank(9, 13, 2);
  AutoRecOptions o;
  o.layer = GetParam();
  o.layers = 2;
  o.hidden = 6;
  o.layer_options.dim = 3;
  torch::manual_seed(1);
  AutoRec model(split.train.num_users(), o);
  model->to(torch::kDouble);
  if (o.layer == std::string("sparse")) {  // spread the locations so that part of the kernel is zero
    torch::NoGradGuard g;
    for (auto& l : model->layers) {
      auto* s = dynamic_cast<SparseKernelLinearImpl*>(l.get());
      s->u.normal_(0, 0.5);
      s->v.normal_(0, 0.5);
    }
  }
  auto [r, mask] = rating_matrix(split.train);
  r = r.to(torch::kDouble);
  mask = mask.to(torch::kDouble);
  const auto obs = observed_ratings(split.train);
  const auto test = observed_ratings(split.test);

  auto dense = model->forward(r);
  auto sparse_test = model->forward_observed(obs, test.item, test.user);
  ASSERT_EQ(sparse_test.size(0), split.test.size());
  for (int64_t k = 0; k < test.item.size(0); ++k)
    EXPECT_NEAR(sparse_test[k].item<double>(), dense[test.item[k].item<int64_t>()][test.user[k].item<int64_t>()].item<double>(),
                1e-12);

  auto grads = [&](bool sparse) {
    model->zero_grad();
    auto loss = sparse ? 0.5 * (model->forward_observed(obs, obs.item, obs.user) - obs.rating.to(torch::kDouble)).square().sum()
                       : 0.5 * (mask * (r - model->forward(r))).square().sum();
    loss.backward();
    std::vector<at::Tensor> g{loss.detach().reshape({1})};
    for (const auto& p : model->parameters()) g.push_back(p.grad().clone().flatten());
    return torch::cat(g);
  };
  auto gd = grads(false), gs = grads(true);
  EXPECT_LT((gd - gs).abs().max().item<double>(), 1e-10 * (1 + gd.abs().max().item<double>()));
}

INSTANTIATE_TEST_SUITE_P(Layers, AutoRecSparseMatchesDense, ::testing::Values("dense", "kernel", "sparse"));

TEST(AutoRecSparsePath, ObservedRatingsSortedAndDuplicatesRejected) {
  Ratings r;
  r.name = "tiny";
  r.user_ids = {10, 20};
  r.item_ids = {1, 2, 3, 4};
  r.user = {1, 0, 1, 0};
  r.item = {2, 2, 0, 3};
  r.rating = {4, 2, 5, 1};
  const auto o = observed_ratings(r);
  EXPECT_TRUE(torch::equal(o.item, torch::tensor({0, 2, 2, 3}, torch::kLong)));
  EXPECT_TRUE(torch::equal(o.user, torch::tensor({1, 0, 1, 0}, torch::kLong)));
  EXPECT_TRUE(torch::equal(o.rating, torch::tensor({5.f, 2.f, 4.f, 1.f})));
  r.user.push_back(0);
  r.item.push_back(3);
  r.rating.push_back(3);
  try {
    observed_ratings(r);
    FAIL() << "no error";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("user 10 rated item 4 twice"), std::string::npos) << e.what();
  }
}

// Noisy ratings and no regularisation: later loops overfit, and keep_best returns (and restores) the loop with the
// lowest validation RMSE.
TEST(AutoRec, KeepBestRestoresTheLoopWithTheLowestValidationRmse) {
  auto split = low_rank(40, 60, 7);
  std::mt19937_64 rng(9);
  std::normal_distribution<float> noise(0, 1);
  for (auto& r : split.train.rating) r += noise(rng);
  auto [fit_part, validation] = rkhs::data::split_ratings(split.train, 0.2, 3);
  split.train = fit_part;
  AutoRecOptions o;
  o.layer = "dense";
  o.layers = 1;
  o.hidden = 32;
  o.layer_options.lambda2 = 0;
  o.outer_loops = 6;
  o.lbfgs_iterations = 20;
  o.progress = false;
  o.keep_best = true;
  torch::manual_seed(0);
  AutoRec model(split.train.num_users(), o);
  EXPECT_THROW(fit_autorec(model, split, o), rkhs::Error);  // keep_best without validation ratings
  auto r = fit_autorec(model, split, o, {}, &validation);
  ASSERT_EQ(r.history.size(), 6u);
  size_t best = 0;
  for (size_t k = 1; k < r.history.size(); ++k)
    if (r.history[k].validation_rmse < r.history[best].validation_rmse) best = k;
  ASSERT_LT(best, 5u) << "the setting should overfit after the first loops";
  EXPECT_EQ(r.loop, r.history[best].loop);
  EXPECT_EQ(r.test_rmse, r.history[best].test_rmse);
  EXPECT_LT(r.validation_rmse, r.history.back().validation_rmse);
  // The returned model is that loop's: its predictions give the recorded RMSEs again.
  const auto obs = observed_ratings(split.train), val = observed_ratings(validation);
  const float lo = split.train.min_rating(), hi = split.train.max_rating();
  torch::NoGradGuard g;
  EXPECT_NEAR(rmse(model->forward_observed(obs, val.item, val.user), val.rating, lo, hi), r.validation_rmse, 1e-6);
  EXPECT_NEAR(rmse(model->forward_observed(obs, obs.item, obs.user), obs.rating, lo, hi), r.train_rmse, 1e-6);
}

// The regularisation path: values run in order, warm-started, until one fails to improve the best validation
// RMSE; the kept model is the (lambda2, loop) with the lowest validation RMSE of the whole history.
TEST(AutoRec, Lambda2PathKeepsTheBestLoopAndStopsWhenValidationStopsImproving) {
  auto split = low_rank(40, 60, 11);
  std::mt19937_64 rng(4);
  std::normal_distribution<float> noise(0, 0.7f);
  for (auto& r : split.train.rating) r += noise(rng);
  auto [fit_part, validation] = rkhs::data::split_ratings(split.train, 0.2, 5);
  split.train = fit_part;
  AutoRecOptions o;
  o.layer = "dense";
  o.layers = 1;
  o.hidden = 32;
  o.outer_loops = 3;
  o.lbfgs_iterations = 15;
  o.progress = false;
  torch::manual_seed(0);
  AutoRec model(split.train.num_users(), o);
  // 1e4 underfits (all weights near 0), 1e-4 overfits the noise: the path must stop before its end or at it.
  const std::vector<double> lambdas = {1e4, 30, 3, 1e-4, 1e-6};
  std::vector<int64_t> reported;
  auto path = fit_autorec_path(model, split, o, lambdas, validation,
                               [&](const LoopRecord& rec) { reported.push_back(rec.loop); });
  ASSERT_GE(path.points.size(), 2u);
  const auto& h = path.fit.history;
  ASSERT_EQ(h.size(), 3 * path.points.size());
  ASSERT_EQ(reported.size(), h.size());
  double best = INFINITY;
  size_t best_k = 0;
  for (size_t k = 0; k < h.size(); ++k) {
    EXPECT_EQ(h[k].loop, int64_t(k + 1));
    EXPECT_EQ(reported[k], int64_t(k + 1));
    EXPECT_EQ(h[k].lambda2, lambdas[k / 3]);
    if (h[k].validation_rmse < best) best = h[k].validation_rmse, best_k = k;
  }
  EXPECT_EQ(path.fit.loop, h[best_k].loop);
  EXPECT_EQ(path.lambda2, h[best_k].lambda2);
  EXPECT_EQ(path.fit.validation_rmse, best);
  EXPECT_EQ(model->layers.front()->options.lambda2, path.lambda2);
  // Every value but the last improved on the ones before it; the last one did not, or the grid ran out.
  for (size_t p = 1; p + 1 < path.points.size(); ++p)
    EXPECT_LT(path.points[p].validation_rmse, path.points[p - 1].validation_rmse);
  if (path.points.size() < lambdas.size()) {
    EXPECT_GE(path.points.back().validation_rmse, best);
  }
  EXPECT_LT(path.lambda2, 1e4) << "the heavily regularised start should not be kept";
  // The returned model is the kept loop's.
  const auto obs = observed_ratings(split.train), val = observed_ratings(validation);
  const float lo = split.train.min_rating(), hi = split.train.max_rating();
  torch::NoGradGuard g;
  EXPECT_NEAR(rmse(model->forward_observed(obs, val.item, val.user), val.rating, lo, hi), best, 1e-6);
  EXPECT_THROW(fit_autorec_path(model, split, o, {}, validation), rkhs::Error);
  EXPECT_THROW(fit_autorec_path(model, split, o, {-1.0}, validation), rkhs::Error);
}
