// ESGD and AdaHessian: Hessian-vector products against finite differences, and their update rules on
// quadratics where the curvature is known exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "rkhs/error.h"
#include "rkhs/optim/curvature.h"

using rkhs::optim::AdaHessian;
using rkhs::optim::ESGD;
using rkhs::optim::GroupOptions;

namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

// A small non-quadratic loss of two parameter blocks (float64): a tanh network with squared error.
torch::Tensor loss_of(const torch::Tensor& w1, const torch::Tensor& w2, const torch::Tensor& x, const torch::Tensor& y) {
  return (torch::mm(torch::tanh(torch::mm(x, w1.t())), w2.t()) - y).pow(2).mean();
}

std::vector<torch::Tensor> grads_at(const torch::Tensor& w1, const torch::Tensor& w2, const torch::Tensor& x,
                                    const torch::Tensor& y) {
  auto a = w1.detach().clone().set_requires_grad(true), b = w2.detach().clone().set_requires_grad(true);
  return torch::autograd::grad({loss_of(a, b, x, y)}, {a, b});
}

}  // namespace

TEST(HessianVectorProduct, MatchesCentralDifferencesOfTheGradient) {
  torch::manual_seed(0);
  auto x = torch::randn({7, 3}, f64), y = torch::randn({7, 2}, f64);
  auto w1 = torch::randn({4, 3}, f64).set_requires_grad(true), w2 = torch::randn({2, 4}, f64).set_requires_grad(true);
  std::vector<torch::Tensor> v = {torch::randn({4, 3}, f64), torch::randn({2, 4}, f64)};
  loss_of(w1, w2, x, y).backward({}, c10::nullopt, /*create_graph=*/true);
  auto hv = rkhs::optim::hessian_vector_product({w1, w2}, v);
  EXPECT_FALSE(w1.grad().requires_grad());  // gradients are detached afterwards
  const double eps = 1e-5;
  auto plus = grads_at(w1 + eps * v[0], w2 + eps * v[1], x, y);
  auto minus = grads_at(w1 - eps * v[0], w2 - eps * v[1], x, y);
  for (size_t i = 0; i < 2; ++i) {
    auto fd = (plus[i] - minus[i]) / (2 * eps);
    EXPECT_TRUE(torch::allclose(hv[i], fd, 1e-6, 1e-8)) << "block " << i << ": " << (hv[i] - fd).abs().max().item<double>();
  }
}

TEST(HessianVectorProduct, NeedsGradientsWithTheirGraph) {
  auto w = torch::randn({3}, f64).set_requires_grad(true);
  EXPECT_THROW(rkhs::optim::hessian_vector_product({w}, {torch::ones({3}, f64)}), rkhs::Error);  // no grad yet
  w.pow(2).sum().backward();  // no create_graph: the Hessian rows are taken as zero
  auto hv = rkhs::optim::hessian_vector_product({w}, {torch::ones({3}, f64)});
  EXPECT_TRUE(torch::equal(hv[0], torch::zeros({3}, f64)));
  EXPECT_THROW(rkhs::optim::hessian_vector_product({w}, {torch::ones({2}, f64)}), rkhs::Error);
}

// f(theta) = 1/2 theta^T A theta with A symmetric: H v = A v exactly.
TEST(Esgd, UpdateRuleOnAQuadratic) {
  auto a = torch::tensor({{2.0, 0.5, 0.0}, {0.5, 1.0, 0.2}, {0.0, 0.2, 3.0}}, f64);
  auto theta = torch::tensor({1.0, -1.0, 0.5}, f64).set_requires_grad(true);
  ESGD opt({torch::optim::OptimizerParamGroup({theta})}, GroupOptions(0.1), /*update_every=*/2, /*damping=*/1e-4);
  auto d = torch::zeros({3}, f64);
  auto expected = theta.detach().clone();
  for (int step = 0; step < 4; ++step) {
    ASSERT_EQ(opt.needs_graph(), step % 2 == 0);
    opt.zero_grad();
    auto f = 0.5 * torch::dot(theta, torch::mv(a, theta));
    f.backward({}, c10::nullopt, opt.needs_graph());
    auto g = torch::mv(a, expected);
    if (step % 2 == 0) {
      torch::manual_seed(100 + step);
      auto v = torch::randn({3}, f64);
      torch::manual_seed(100 + step);  // the optimizer draws the same v
      d += torch::mv(a, v).pow(2);
    }
    const double i = step / 2 + 1;
    expected = expected - 0.1 * g / ((d / i).sqrt() + 1e-4);
    opt.step();
    EXPECT_TRUE(torch::allclose(theta.detach(), expected, 1e-12, 1e-12)) << "step " << step;
  }
  EXPECT_EQ(opt.state_bytes(), 3 * 8);
  EXPECT_THROW(ESGD({torch::optim::OptimizerParamGroup({theta})}, GroupOptions(0.1), 0), rkhs::Error);
}

// With a diagonal A, Hutchinson's estimate |z * (A z)| is exactly diag(A) for every Rademacher z, so the first
// AdaHessian step is theta - lr * g / (|diag A| + eps) (bias corrections cancel at step 1).
TEST(AdaHessian, FirstStepsOnADiagonalQuadratic) {
  auto diag = torch::tensor({4.0, 0.5, 2.0}, f64);
  auto theta = torch::tensor({1.0, -2.0, 0.5}, f64).set_requires_grad(true);
  const double lr = 0.3, eps = 1e-4, b1 = 0.9, b2 = 0.999;
  AdaHessian opt({torch::optim::OptimizerParamGroup({theta})}, GroupOptions(lr), b1, b2, eps, 1.0);
  EXPECT_TRUE(opt.needs_graph());
  auto m = torch::zeros({3}, f64), v = torch::zeros({3}, f64);
  auto expected = theta.detach().clone();
  for (int t = 1; t <= 3; ++t) {
    opt.zero_grad();
    opt.backward(0.5 * (diag * theta * theta).sum());  // autograd::grad with create_graph
    auto g = diag * expected;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * diag * diag;
    auto denom = v.sqrt() / std::sqrt(1 - std::pow(b2, t)) + eps;
    expected = expected - lr * (m / (1 - std::pow(b1, t))) / denom;
    opt.step();
    EXPECT_TRUE(torch::allclose(theta.detach(), expected, 1e-12, 1e-12)) << "step " << t;
  }
  EXPECT_EQ(opt.state_bytes(), 2 * 3 * 8);
}

TEST(AdaHessian, ConvolutionKernelsAreSpatiallyAveraged) {
  // f = 1/2 sum c_ij w_ij^2 over a (1, 1, 2, 2) kernel: the diagonal estimate becomes the mean of c over the
  // 2x2 window, so the first step is g / (mean(c) + eps) elementwise.
  auto c = torch::tensor({1.0, 2.0, 3.0, 6.0}, f64).reshape({1, 1, 2, 2});
  auto w = torch::ones({1, 1, 2, 2}, f64).set_requires_grad(true);
  AdaHessian opt({torch::optim::OptimizerParamGroup({w})}, GroupOptions(1.0), 0.9, 0.999, 1e-4, 1.0);
  (0.5 * (c * w * w).sum()).backward({}, c10::nullopt, true);
  opt.step();
  auto expected = torch::ones({1, 1, 2, 2}, f64) - c / (3.0 + 1e-4);
  EXPECT_TRUE(torch::allclose(w.detach(), expected, 1e-12, 1e-12));
}

TEST(AdaHessian, StepWithoutGraphIsAnError) {
  auto w = torch::ones({2}, f64).set_requires_grad(true);
  AdaHessian opt({torch::optim::OptimizerParamGroup({w})}, GroupOptions(0.1));
  w.pow(3).sum().backward();
  EXPECT_THROW(opt.step(), rkhs::Error);
  EXPECT_THROW(AdaHessian({torch::optim::OptimizerParamGroup({w})}, GroupOptions(0.1), 1.0), rkhs::Error);
}
