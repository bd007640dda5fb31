// Kernel SGD (paper 001 eq. 5): the reshaping rules of §3.1, the inverse, and the step against plain SGD.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rkhs/error.h"
#include "rkhs/gradcheck.h"
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/optim/kernel_sgd.h"
#include "warning_capture.h"

using rkhs::optim::GroupOptions;
using rkhs::optim::KernelPreconditioner;
using rkhs::optim::KernelSGD;
using rkhs::optim::KernelSgdMode;
using rkhs::optim::precondition_gradient;
using rkhs::optim::psd_inverse;

namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

// A random symmetric positive definite (m, m) matrix.
torch::Tensor spd(int64_t m, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto a = at::randn({m, m}, gen, f64);
  return torch::mm(a, a.t()) / m + 0.5 * torch::eye(m, f64);
}

// One step of KernelSGD on a loss sum(W x)^2-like objective; returns the weight after the step.
torch::Tensor one_step(const torch::Tensor& w0, const torch::Tensor& grad, const torch::Tensor& inv, KernelSgdMode mode,
                       double lr) {
  auto w = w0.clone().set_requires_grad(true);
  KernelSGD opt({torch::optim::OptimizerParamGroup({w})}, GroupOptions(lr), {w}, mode);
  w.mutable_grad() = grad.clone();
  opt.set_inverse(inv);
  opt.step();
  return w.detach();
}

}  // namespace

TEST(KernelSgd, IdentityKernelWithEnoughSamplesEqualsSgd) {
  auto w0 = torch::randn({3, 5}, f64);
  auto g = torch::randn({3, 5}, f64);
  for (int64_t m : {5, 8})
    for (auto mode : {KernelSgdMode::faithful, KernelSgdMode::corrected}) {
      auto w = one_step(w0, g, torch::eye(m, f64), mode, 0.1);
      EXPECT_TRUE(torch::allclose(w, w0 - 0.1 * g, 0, 1e-15)) << "m = " << m;
    }
}

TEST(KernelSgd, FaithfulFreezesColumnsBeyondTheBatchCorrectedMovesThem) {
  const int64_t m = 3, d_in = 7;
  auto w0 = torch::randn({4, d_in}, f64);
  auto g = torch::randn({4, d_in}, f64);
  auto inv = torch::inverse(spd(m, 1));
  auto faithful = one_step(w0, g, inv, KernelSgdMode::faithful, 0.5);
  auto corrected = one_step(w0, g, inv, KernelSgdMode::corrected, 0.5);
  // Columns < m: W - lr G[:, :m] H^-1 in both modes (the zero or identity padding does not reach them).
  auto expected = w0.slice(1, 0, m) - 0.5 * torch::mm(g.slice(1, 0, m), inv);
  EXPECT_TRUE(torch::allclose(faithful.slice(1, 0, m), expected, 0, 1e-14));
  EXPECT_TRUE(torch::allclose(corrected.slice(1, 0, m), expected, 0, 1e-14));
  // Columns >= m: never move with zero padding, take the SGD step with identity padding.
  EXPECT_TRUE(torch::equal(faithful.slice(1, m), w0.slice(1, m)));
  EXPECT_TRUE(torch::allclose(corrected.slice(1, m), w0.slice(1, m) - 0.5 * g.slice(1, m), 0, 1e-15));
}

TEST(KernelSgd, MoreSamplesThanInputsUsesTheTopLeftBlock) {
  const int64_t m = 6, d_in = 4;
  auto g = torch::randn({2, d_in}, f64);
  auto inv = torch::inverse(spd(m, 2));
  // Reference by explicit loops: sum_k g[i, k] * inv[k, j] over k < d_in.
  auto ref = torch::zeros({2, d_in}, f64);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < d_in; ++j)
      for (int64_t k = 0; k < d_in; ++k) ref[i][j] += g[i][k].item<double>() * inv[k][j].item<double>();
  for (auto mode : {KernelSgdMode::faithful, KernelSgdMode::corrected})
    EXPECT_TRUE(torch::allclose(precondition_gradient(g, inv, mode), ref, 0, 1e-14));
}

TEST(KernelSgd, ConvolutionKernelsAreViewedAsFanInMatrices) {
  auto g = torch::randn({2, 3, 2, 2}, f64);  // fan_in 12
  auto inv = torch::inverse(spd(12, 3));
  auto out = precondition_gradient(g, inv, KernelSgdMode::faithful);
  EXPECT_EQ(out.sizes(), g.sizes());
  EXPECT_TRUE(torch::allclose(out.reshape({2, 12}), torch::mm(g.reshape({2, 12}), inv), 0, 1e-13));
}

TEST(KernelSgd, SingleStepLeavesEverythingButTheLastWeightAsSgd) {
  torch::manual_seed(0);
  auto x = torch::randn({8, 5});
  auto y = torch::randint(0, 3, {8}, torch::kLong);
  auto run = [&](bool kernel) {
    torch::manual_seed(1);
    torch::nn::Linear hidden(5, 6), last(6, 3);
    std::vector<torch::Tensor> params = hidden->parameters();
    for (auto& p : last->parameters()) params.push_back(p);
    std::unique_ptr<torch::optim::Optimizer> opt;
    if (kernel) {
      auto k = std::make_unique<KernelSGD>(std::vector<torch::optim::OptimizerParamGroup>{params}, GroupOptions(0.1, 1e-3),
                                           std::vector<torch::Tensor>{last->weight}, KernelSgdMode::faithful, 0.9);
      k->set_inverse(torch::inverse(spd(8, 4)));
      opt = std::move(k);
    } else {
      opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
    }
    opt->zero_grad();
    torch::nn::functional::cross_entropy(last(torch::relu(hidden(x))), y).backward();
    opt->step();
    std::vector<torch::Tensor> out = hidden->parameters();
    out.push_back(last->bias);
    out.push_back(last->weight);
    return out;
  };
  auto sgd = run(false), ksgd = run(true);
  for (size_t i = 0; i + 1 < sgd.size(); ++i) EXPECT_TRUE(torch::allclose(sgd[i], ksgd[i], 0, 1e-7)) << "parameter " << i;
  EXPECT_FALSE(torch::allclose(sgd.back(), ksgd.back(), 0, 1e-4));
}

TEST(KernelSgd, StepWithoutInverseAndBadArgumentsThrow) {
  auto w = torch::randn({2, 3}).set_requires_grad(true);
  KernelSGD opt({torch::optim::OptimizerParamGroup({w})}, GroupOptions(0.1), {w}, KernelSgdMode::faithful);
  w.mutable_grad() = torch::ones({2, 3});
  EXPECT_THROW(opt.step(), rkhs::Error);
  auto other = torch::randn({2, 3}).set_requires_grad(true);
  EXPECT_THROW(KernelSGD({torch::optim::OptimizerParamGroup({w})}, GroupOptions(0.1), {other}, KernelSgdMode::faithful),
               rkhs::Error);
  EXPECT_THROW(KernelSGD({torch::optim::OptimizerParamGroup({w})}, GroupOptions(0.1), {w}, KernelSgdMode::faithful, 1.0),
               rkhs::Error);
  EXPECT_THROW(rkhs::optim::parse_kernel_sgd_mode("exact"), rkhs::Error);
  EXPECT_EQ(rkhs::optim::parse_kernel_sgd_mode("corrected"), KernelSgdMode::corrected);
}

TEST(PsdInverse, MatchesTheInverseOfAWellConditionedMatrix) {
  auto h = spd(10, 5);
  rkhs::optim::InverseInfo info;
  auto inv = psd_inverse(h, 0, &info);
  EXPECT_FALSE(info.pseudo);
  EXPECT_EQ(info.rank, 10);
  EXPECT_TRUE(torch::allclose(inv, torch::inverse(h), 1e-10, 1e-10));
  // Damping inverts H + lambda I.
  EXPECT_TRUE(torch::allclose(psd_inverse(h, 0.3), torch::inverse(h + 0.3 * torch::eye(10, f64)), 1e-10, 1e-10));
  // float32 input is inverted in float64.
  EXPECT_EQ(psd_inverse(h.to(torch::kFloat32)).scalar_type(), torch::kFloat64);
}

TEST(PsdInverse, SingularMatrixGivesThePseudoInverse) {
  auto a = torch::randn({6, 2}, f64);
  auto h = torch::mm(a, a.t());  // rank 2
  rkhs::optim::InverseInfo info;
  auto inv = psd_inverse(h, 0, &info);
  EXPECT_TRUE(info.pseudo);
  EXPECT_EQ(info.rank, 2);
  EXPECT_TRUE(torch::isfinite(inv).all().item<bool>());
  EXPECT_TRUE(torch::allclose(inv, torch::linalg_pinv(h, 1e-10, /*hermitian=*/true), 1e-8, 1e-8));
  EXPECT_THROW(psd_inverse(torch::ones({2, 3}, f64)), rkhs::Error);
  auto bad = torch::eye(3, f64);
  bad[0][0] = std::nan("");
  EXPECT_THROW(psd_inverse(bad), rkhs::Error);
  EXPECT_THROW(psd_inverse(torch::eye(3, f64), -1), rkhs::Error);
}

// The backward (the pseudo-inverse's derivative at constant rank): gradcheck on a nonsingular matrix (float64,
// damping too, a float32 input gets a float32 gradient), the closed form -A^-1 G A^-1 at repeated eigenvalues
// (h = 2 I, where a backward through eigh is NaN), and on a rank-3 5 x 5 matrix a central difference along a
// path of constant rank, H(t) = (B + t E)(B + t E)^T.
TEST(PsdInverse, GradientMatchesFiniteDifferencesAndTheClosedForm) {
  torch::manual_seed(8);
  auto h = (spd(5, 2) + 0.1 * torch::randn({5, 5}, f64)).requires_grad_(true);  // not symmetric: sym(h) is used
  for (double damping : {0.0, 0.5}) {
    const auto r = rkhs::gradcheck([&](const std::vector<at::Tensor>& in) { return psd_inverse(in[0], damping); },
                                   {h}, 1e-6, 1e-7, 1e-5);
    EXPECT_TRUE(r.ok) << "damping " << damping << ": " << r.message;
  }
  auto h32 = spd(4, 1).to(torch::kFloat32).requires_grad_(true);
  psd_inverse(h32).sum().backward();
  EXPECT_EQ(h32.grad().scalar_type(), torch::kFloat32);

  auto twice = (2 * torch::eye(3, f64)).requires_grad_(true);
  psd_inverse(twice).sum().backward();
  EXPECT_TRUE(torch::allclose(twice.grad(), torch::full({3, 3}, -0.25, f64), 0, 1e-14)) << twice.grad();

  auto b = torch::randn({5, 3}, f64), e = torch::randn({5, 3}, f64), g = torch::randn({5, 5}, f64);
  auto path = [&](double t) { return torch::mm(b + t * e, (b + t * e).t()); };
  auto h0 = path(0).requires_grad_(true);
  rkhs::optim::InverseInfo info;
  auto y = psd_inverse(h0, 0, &info);
  ASSERT_TRUE(info.pseudo);
  ASSERT_EQ(info.rank, 3);
  (y * g).sum().backward();
  const double analytic = (h0.grad() * (torch::mm(e, b.t()) + torch::mm(b, e.t()))).sum().item<double>();
  const double eps = 1e-6;
  const double numeric =
      ((psd_inverse(path(eps)) - psd_inverse(path(-eps))) * g).sum().item<double>() / (2 * eps);
  EXPECT_NEAR(analytic, numeric, 1e-5 * (1 + std::abs(numeric)));
}

TEST(KernelPreconditioner, RbfGramOfTheFlattenedBatch) {
  KernelPreconditioner pre({"rbf:gamma=0.3", 0, 0});
  auto xb = torch::randn({5, 2, 3});  // flattened to (5, 6)
  auto x = xb.reshape({5, 6}).to(torch::kFloat64);
  auto h = torch::exp(-0.3 * torch::cdist(x, x).pow(2));
  EXPECT_TRUE(torch::allclose(pre.inverse(xb, 0), torch::inverse(h), 1e-6, 1e-6));
  EXPECT_EQ(pre.inverses_computed(), 1);
  EXPECT_EQ(pre.bytes(), 5 * 5 * 8);
}

TEST(KernelPreconditioner, DuplicateInputsGiveAFiniteUpdateAndOneWarning) {
  rkhs::testing::WarningCapture capture;
  const auto& warnings = capture.messages;
  KernelPreconditioner pre({"rbf:gamma=0.5", 0, 0});
  auto row = torch::randn({1, 4});
  auto xb = torch::cat({row, row, torch::randn({2, 4})});  // two identical inputs: H is exactly singular
  auto inv = pre.inverse(xb, 7);
  pre.inverse(xb, 8);
  EXPECT_TRUE(torch::isfinite(inv).all().item<bool>());
  EXPECT_EQ(pre.pseudo_inverses(), 2);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("batch 7"), std::string::npos) << warnings[0];
  auto g = torch::randn({3, 4});
  auto w = one_step(torch::zeros({3, 4}), g, inv.to(torch::kFloat32), KernelSgdMode::faithful, 0.1);
  EXPECT_TRUE(torch::isfinite(w).all().item<bool>());
}

TEST(KernelPreconditioner, PrecomputedPartitionAndRandomPsd) {
  KernelPreconditioner pre({"linear", 0.1, 0});
  auto x = torch::randn({10, 3});
  pre.precompute(x, {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}, torch::kFloat32, torch::kCPU);
  ASSERT_TRUE(pre.has_cache());
  EXPECT_EQ(pre.bytes(), (16 + 16 + 4) * 4);
  auto xb = x.index_select(0, torch::tensor({8, 9}));
  auto h = torch::mm(xb.to(torch::kFloat64), xb.to(torch::kFloat64).t()) + 0.1 * torch::eye(2, f64);
  EXPECT_TRUE(torch::allclose(pre.cached(2).to(torch::kFloat64), torch::inverse(h), 1e-4, 1e-5));
  EXPECT_THROW(pre.cached(3), rkhs::Error);
  // The same partition of the same data again (a search's next candidate): nothing recomputed; another partition,
  // other data or another dtype: computed anew.
  EXPECT_EQ(pre.inverses_computed(), 3);
  pre.precompute(x, {{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}, torch::kFloat32, torch::kCPU);
  EXPECT_EQ(pre.inverses_computed(), 3);
  pre.precompute(x, {{0, 1, 2, 3}, {4, 5, 6, 7, 8, 9}}, torch::kFloat32, torch::kCPU);
  EXPECT_EQ(pre.inverses_computed(), 5);
  EXPECT_EQ(pre.cached(1).size(0), 6);
  pre.precompute(x.clone(), {{0, 1, 2, 3}, {4, 5, 6, 7, 8, 9}}, torch::kFloat32, torch::kCPU);
  EXPECT_EQ(pre.inverses_computed(), 7);
  pre.precompute(x, {{0, 1, 2, 3}, {4, 5, 6, 7, 8, 9}}, torch::kFloat64, torch::kCPU);
  EXPECT_EQ(pre.inverses_computed(), 9);
  EXPECT_EQ(pre.cached(0).scalar_type(), torch::kFloat64);
  // random-psd ignores the data, depends on (seed, batch) only.
  KernelPreconditioner r1({"random-psd", 0, 3}), r2({"random-psd", 0, 3});
  EXPECT_TRUE(torch::equal(r1.inverse(torch::randn({4, 2}), 1), r2.inverse(torch::randn({4, 2}), 1)));
  EXPECT_FALSE(torch::equal(r1.inverse(torch::randn({4, 2}), 1), r1.inverse(torch::randn({4, 2}), 2)));
  EXPECT_THROW(KernelPreconditioner({"no-such-kernel", 0, 0}), rkhs::Error);
  EXPECT_THROW(KernelPreconditioner({"rbf", -1, 0}), rkhs::Error);
}

TEST(KernelSgd, SaveAndLoadRestoreMomentumAndStep) {
  auto w = torch::randn({2, 3}).set_requires_grad(true);
  KernelSGD a({torch::optim::OptimizerParamGroup({w})}, GroupOptions(0.1), {w}, KernelSgdMode::faithful, 0.9);
  a.set_inverse(torch::eye(2));
  w.mutable_grad() = torch::randn({2, 3});
  a.step();
  torch::serialize::OutputArchive out;
  a.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  KernelSGD b({torch::optim::OptimizerParamGroup({w})}, GroupOptions(0.1), {w}, KernelSgdMode::faithful, 0.9);
  torch::serialize::InputArchive in;
  std::istringstream is(bytes.str());
  in.load_from(is);
  b.load(in);
  EXPECT_EQ(b.steps(), 1);
  EXPECT_EQ(b.state_bytes(), a.state_bytes());
  EXPECT_EQ(a.state_bytes(), 6 * 4);
  // Another optimizer's state is rejected.
  auto v = torch::randn({2, 3}).set_requires_grad(true);
  KernelSGD c({torch::optim::OptimizerParamGroup({w, v})}, GroupOptions(0.1), {w}, KernelSgdMode::faithful);
  torch::serialize::InputArchive in2;
  std::istringstream is2(bytes.str());
  in2.load_from(is2);
  EXPECT_THROW(c.load(in2), rkhs::Error);
}
