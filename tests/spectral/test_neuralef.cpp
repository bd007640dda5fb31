// NeuralEF: eq. 18 equals autograd of eq. 17 in float64, L2BN, and a short run recovers the top eigenpairs of
// a small RBF problem (against the exact eigendecomposition).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/data/synthetic.h"
#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/neuralef.h"
#include "rkhs/spectral/nystrom.h"
#include "rkhs/spectral/quality.h"
#include "rkhs/spectral/spin.h"
#include "warning_capture.h"

using namespace rkhs::spectral;

TEST(NeuralEF, ClosedFormGradientEqualsAutogradOfTheLoss) {
  torch::manual_seed(1);
  const int64_t b = 17, k = 5;
  auto a = torch::randn({b, b}, torch::kFloat64);
  auto kmat = a.mm(a.t()) / double(b);
  auto psi = torch::randn({b, k}, torch::kFloat64).requires_grad_(true);
  neuralef_loss(kmat, psi).backward();
  auto closed = neuralef_output_gradient(kmat, psi.detach());
  EXPECT_TRUE(torch::allclose(psi.grad(), closed, 1e-12, 1e-12)) << (psi.grad() - closed).abs().max().item<double>();
  // The first eigenfunction's gradient is the plain -(2/B^2) K psi_1 (no deflation).
  EXPECT_TRUE(torch::allclose(closed.select(1, 0), kmat.mv(psi.detach().select(1, 0)) * (-2.0 / (b * b)), 1e-12, 1e-14));
}

TEST(NeuralEF, L2BatchNormGivesUnitMeanSquareAndTracksAnEma) {
  NeuralEFOptions o;
  o.k = 4;
  o.input_dim = 2;
  NeuralEF net(o);
  auto x = torch::randn({64, 2});
  auto psi = net->forward(x);
  EXPECT_TRUE(torch::allclose(psi.square().mean(0), torch::ones({4}), 1e-4, 1e-5));
  auto norms = net->raw(x).square().mean(0).sqrt().detach();
  EXPECT_TRUE(torch::allclose(net->norm_ema, norms, 1e-5, 1e-6));  // the first batch is copied
  auto norms2 = net->raw(2 * x).square().mean(0).sqrt().detach();
  net->forward(2 * x);  // EMA: 0.9 old + 0.1 new
  auto ema = 0.9 * norms + 0.1 * norms2;
  EXPECT_TRUE(torch::allclose(net->norm_ema, ema, 1e-5, 1e-6));
  net->eval();
  EXPECT_TRUE(torch::allclose(net->forward(x), net->raw(x) / ema, 1e-5, 1e-6));
  // The networks are separate: changing network 0's weights changes column 0 only.
  auto before = net->raw(x).detach();
  {
    torch::NoGradGuard g;
    net->weights[0][0].add_(1.0);
  }
  auto after = net->raw(x).detach();
  EXPECT_FALSE(torch::allclose(before.select(1, 0), after.select(1, 0)));
  EXPECT_TRUE(torch::allclose(before.slice(1, 1), after.slice(1, 1)));
}

// Trains net (k = 3) for `iterations` on 512 points of U[-2, 2] under exp(-(x - x')^2 / 2) and expects the top 3
// eigenvalues within 5% and alignment >= 0.95 on 300 held-out points, against the exact eigendecomposition.
static void expect_recovers_small_rbf_problem(NeuralEF& net, int64_t iterations) {
  const auto kernel = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  auto x = rkhs::data::make_uniform(512, -2, 2, 3).x;
  auto held = rkhs::data::make_uniform(300, -2, 2, 4).x;
  auto ref = nystrom_eigen(kernel, x.to(torch::kFloat64), 3);
  NeuralEFTrainOptions t;
  t.iterations = iterations;
  t.seed = 5;
  auto rep = train_neuralef(net, kernel, x, t);
  auto err = eigenvalue_relative_error(rep.eigenvalues, ref.eigenvalues);
  EXPECT_LT(err.max().item<double>(), 0.05) << err;
  torch::NoGradGuard g;
  auto al = alignment(net->forward(held).to(torch::kFloat64), ref(held.to(torch::kFloat64)));
  EXPECT_GT(al.min().item<double>(), 0.95) << al;
  EXPECT_FALSE(net->is_training());
}

TEST(NeuralEF, ShortRunRecoversTheTopEigenpairsOfASmallRbfProblem) {
  NeuralEFOptions o;
  o.k = 3;
  torch::manual_seed(5);
  NeuralEF net(o);
  expect_recovers_small_rbf_problem(net, 1000);
}

TEST(NeuralEF, RejectsBadInput) {
  NeuralEFOptions o;
  o.activation = "sigmoid";
  EXPECT_THROW(NeuralEF{o}, rkhs::Error);
  NeuralEF net(NeuralEFOptions{});
  EXPECT_THROW(net->forward(torch::randn({4, 3})), rkhs::Error);
  auto x = torch::randn({10, 1});
  x[3][0] = NAN;
  EXPECT_THROW(train_neuralef(net, rkhs::kernels::make_kernel("rbf"), x, NeuralEFTrainOptions{}), rkhs::Error);
}

TEST(NeuralEF, CapturedTraceIsBoundedByTheTopEigenvalues) {
  // Ky Fan: any k orthonormal functions capture at most mu_1 + ... + mu_k; a trained run gets close.
  const auto kernel = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  auto x = rkhs::data::make_uniform(256, -2, 2, 6).x;
  NeuralEFOptions o;
  o.k = 2;
  torch::manual_seed(7);
  NeuralEF net(o);
  NeuralEFTrainOptions t;
  t.iterations = 300;
  t.seed = 7;
  auto rep = train_neuralef(net, kernel, x, t);
  const double top = nystrom_eigen(kernel, x.to(torch::kFloat64), 2).eigenvalues.sum().item<double>();
  EXPECT_LE(rep.captured_trace, top * (1 + 1e-9));
  EXPECT_GT(rep.captured_trace, 0.99 * top);
}

// Rayleigh-Ritz after training, checked against an independent float64 computation: the Ritz values are the
// eigenvalues of Q^T K Q / m^2 for an orthonormal basis Q (QR) of the learned functions on the m points.
static void expect_rayleigh_ritz(NeuralEF& net, const NeuralEFReport& rep, const rkhs::kernels::KernelPtr& kernel,
                                 const at::Tensor& x, const at::Tensor& before) {
  ASSERT_TRUE(rep.rayleigh_ritz);
  torch::NoGradGuard g;
  const double m = double(x.size(0));
  const int64_t k = before.size(1);
  auto xd = x.to(torch::kFloat64);
  auto kmat = kernel->gram(xd, xd);
  auto q = std::get<0>(at::linalg_qr(before)) * std::sqrt(m);
  auto ritz = at::linalg_eigvalsh(q.t().mm(kmat).mm(q) / (m * m)).flip(0);
  EXPECT_TRUE(torch::allclose(rep.eigenvalues, ritz, 1e-4, 1e-8)) << rep.eigenvalues << ritz;
  // Cauchy interlacing: the j-th Ritz value is at most the j-th eigenvalue of K / m.
  auto exact = at::linalg_eigvalsh(kmat / m).flip(0).slice(0, 0, k);
  EXPECT_TRUE((rep.eigenvalues <= exact * (1 + 1e-6)).all().item<bool>()) << rep.eigenvalues << exact;
  // The evaluated functions: orthonormal on the points, K-orthogonal with the Ritz values, in the old span.
  auto psi = net->forward(x).to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(psi.t().mm(psi) / m, torch::eye(k, torch::kFloat64), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(psi.t().mm(kmat).mm(psi) / (m * m), torch::diag(rep.eigenvalues), 1e-4, 1e-5));
  auto coef = std::get<0>(at::linalg_lstsq(before, psi));
  EXPECT_LT((before.mm(coef) - psi).abs().max().item<double>(), 1e-3);
  EXPECT_NEAR(rep.captured_trace, ritz.sum().item<double>(), 1e-6);
}

// Trains k networks on n points of U[-2, 2] under exp(-(x - x')^2 / 2) twice from the same start with `train`
// (train_neuralef or train_spin): without the rotation, then with it, and checks the second against the first's
// functions. Returns both reports and the rotated net.
struct RotationRun {
  NeuralEFReport plain, rotated;
  NeuralEF net{nullptr};
  NeuralEFTrainOptions options;
  at::Tensor x;
};
template <class Train>
static RotationRun train_twice(Train train, int64_t n, int64_t k, int64_t iterations, uint64_t seed) {
  const auto kernel = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  RotationRun run;
  run.x = rkhs::data::make_uniform(n, -2, 2, seed).x;
  NeuralEFOptions o;
  o.k = k;
  torch::manual_seed(seed);
  NeuralEF net(o);
  run.options.iterations = iterations;
  run.options.seed = seed;
  auto start = net->clone();
  run.plain = train(net, kernel, run.x, run.options);
  EXPECT_FALSE(run.plain.rayleigh_ritz);
  const auto before = net->forward(run.x).detach().to(torch::kFloat64);  // NeuralEF: psi; SpIN: L^-1 f
  run.net = NeuralEF(std::dynamic_pointer_cast<NeuralEFImpl>(start));
  run.options.rayleigh_ritz = true;
  run.rotated = train(run.net, kernel, run.x, run.options);
  expect_rayleigh_ritz(run.net, run.rotated, kernel, run.x, before);
  return run;
}

TEST(NeuralEF, RayleighRitzRotatesWithinTheSpanToTheRitzPairs) {
  auto run = train_twice(
      [](NeuralEF& net, const rkhs::kernels::KernelPtr& kernel, const at::Tensor& x, const NeuralEFTrainOptions& t) {
        return train_neuralef(net, kernel, x, t);
      },
      300, 4, 50, 9);
  EXPECT_NEAR(run.rotated.captured_trace, run.plain.captured_trace, 1e-6);  // the span is the same
  // Training again drops the rotation until the next one.
  run.options.rayleigh_ritz = false;
  run.options.iterations = 1;
  train_neuralef(run.net, rkhs::kernels::make_kernel("rbf:gamma=0.5"), run.x, run.options);
  EXPECT_EQ(run.net->whitening.numel(), 0);
}

TEST(NeuralEF, RayleighRitzComposesWithSpinsWhitening) {
  train_twice(
      [](NeuralEF& net, const rkhs::kernels::KernelPtr& kernel, const at::Tensor& x, const NeuralEFTrainOptions& t) {
        return train_spin(net, kernel, x, t);
      },
      200, 3, 5, 11);
}

TEST(NeuralEF, RayleighRitzIsSkippedWithAWarningWhenTwoNetworksAreEqual) {
  const auto kernel = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  auto x = rkhs::data::make_uniform(100, -2, 2, 12).x;
  NeuralEFOptions o;
  o.k = 3;
  torch::manual_seed(13);
  NeuralEF net(o);
  NeuralEFTrainOptions t;
  t.iterations = 1;
  t.lr = 1e-12;  // the networks barely move: network 1 stays a copy of network 0
  t.rayleigh_ritz = true;
  {
    torch::NoGradGuard g;
    for (size_t l = 0; l < net->weights.size(); ++l) {
      net->weights[l][1].copy_(net->weights[l][0]);
      net->biases[l][1].copy_(net->biases[l][0]);
    }
  }
  rkhs::testing::WarningCapture capture;
  auto rep = train_neuralef(net, kernel, x, t);
  EXPECT_FALSE(rep.rayleigh_ritz);
  ASSERT_EQ(capture.messages.size(), 1u);
  EXPECT_NE(capture.messages[0].find("Rayleigh-Ritz skipped"), std::string::npos) << capture.messages[0];
  EXPECT_EQ(net->whitening.numel(), 0);
  EXPECT_TRUE(torch::isfinite(rep.eigenvalues).all().item<bool>());
}

TEST(NeuralEF, CnnNetworksAreSeparate) {
  // k CNNs evaluated together: network 0's parameters move column 0 only.
  NeuralEFOptions o;
  o.k = 3;
  o.input_dim = 64;
  o.architecture = "cnn";
  o.image_shape = {1, 8, 8};
  o.channels = {2, 3};
  o.width = 8;
  torch::manual_seed(8);
  NeuralEF net(o);
  ASSERT_EQ(net->weights[0].sizes(), (std::vector<int64_t>{3, 3 * 1 * 1, 8}));  // 8 -> 4 -> 2 -> 1
  net->eval();
  auto x = torch::randn({5, 64});
  torch::NoGradGuard g;
  auto before = net->forward(x);
  net->conv1.slice(0, 0, 2).add_(0.5);  // network 0's first-layer channels
  net->conv2.slice(0, 0, 3).mul_(1.5);  // and its second-layer ones
  auto after = net->forward(x);
  EXPECT_FALSE(torch::allclose(before.select(1, 0), after.select(1, 0)));
  EXPECT_TRUE(torch::equal(before.slice(1, 1), after.slice(1, 1)));
  NeuralEFOptions bad = o;
  bad.image_shape = {1, 8, 7};
  EXPECT_THROW(NeuralEF{bad}, rkhs::Error);
}

TEST(NeuralEF, CnnRunRecoversTheTopEigenpairOfALinearImageKernel) {
  // Images whose pixels are a random multiple of a fixed pattern plus small noise: the linear kernel's top
  // eigenfunction is (up to sign) the coefficient of the pattern.
  torch::manual_seed(9);
  auto pattern = torch::randn({1, 64});
  auto x = torch::randn({512, 1}).mm(pattern) + 0.05 * torch::randn({512, 64});
  const auto kernel = rkhs::kernels::make_kernel("linear");
  auto ref = nystrom_eigen(kernel, x.to(torch::kFloat64), 1);
  NeuralEFOptions o;
  o.k = 1;
  o.input_dim = 64;
  o.architecture = "cnn";
  o.image_shape = {1, 8, 8};
  o.channels = {4, 4};
  o.width = 16;
  NeuralEF net(o);
  NeuralEFTrainOptions t;
  t.iterations = 400;
  t.batch_size = 128;
  t.seed = 9;
  auto rep = train_neuralef(net, kernel, x, t);
  EXPECT_LT(eigenvalue_relative_error(rep.eigenvalues, ref.eigenvalues).item<double>(), 0.05);
  torch::NoGradGuard g;
  auto held = torch::randn({200, 1}).mm(pattern) + 0.05 * torch::randn({200, 64});
  EXPECT_GT(alignment(net->forward(held).to(torch::kFloat64), ref(held.to(torch::kFloat64))).item<double>(), 0.95);
}

TEST(NeuralEF, SharedTrunkRecoversTheTopEigenpairsToo) {
  // One trunk with k outputs: every column depends on the trunk, and training still finds the top eigenpairs.
  NeuralEFOptions o;
  o.k = 3;
  o.shared_trunk = true;
  o.width = 64;
  torch::manual_seed(5);
  NeuralEF net(o);
  ASSERT_EQ(net->weights.back().sizes(), (std::vector<int64_t>{1, 64, 3}));
  {
    net->eval();
    torch::NoGradGuard g;
    auto held = rkhs::data::make_uniform(300, -2, 2, 4).x;
    auto before = net->forward(held);
    net->weights[0].add_(0.1);
    EXPECT_FALSE(torch::allclose(before, net->forward(held)));  // the trunk moves every column
    net->weights[0].sub_(0.1);
    net->train();
  }
  expect_recovers_small_rbf_problem(net, 1500);
  NeuralEFOptions bad;
  bad.shared_trunk = true;
  bad.architecture = "cnn";
  bad.input_dim = 64;
  bad.image_shape = {1, 8, 8};
  EXPECT_THROW(NeuralEF{bad}, rkhs::Error);
}
