// kernelNet layers against direct float64 formulas; finite gradients at zero distance; counts of paper Table 4.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"
#include "rkhs/gradcheck.h"
#include "rkhs/kernelnet/autorec.h"
#include "rkhs/kernelnet/layers.h"

using namespace rkhs::kernelnet;

namespace {

LayerOptions opts(int64_t in, int64_t out, int64_t d, const std::string& kernel = "tanh") {
  LayerOptions o;
  o.in = in;
  o.out = out;
  o.dim = d;
  o.kernel = kernel;
  return o;
}

double dot(const at::Tensor& a, const at::Tensor& b, int64_t i, int64_t j) {
  auto pa = a.accessor<double, 2>();
  auto pb = b.accessor<double, 2>();
  double s = 0;
  for (int64_t k = 0; k < a.size(1); ++k) s += pa[i][k] * pb[j][k];
  return s;
}

double sqdist(const at::Tensor& a, const at::Tensor& b, int64_t i, int64_t j) {
  auto pa = a.accessor<double, 2>();
  auto pb = b.accessor<double, 2>();
  double s = 0;
  for (int64_t k = 0; k < a.size(1); ++k) s += (pa[i][k] - pb[j][k]) * (pa[i][k] - pb[j][k]);
  return s;
}

}  // namespace

// W_ij = alpha_i K(u_i, v_j) for each kernel of the paper (eq. 14), element by element in float64.
TEST(KernelLinear, WeightMatchesTheDirectFormula) {
  struct Case {
    const char* spec;
    std::function<double(const at::Tensor&, const at::Tensor&, int64_t, int64_t)> k;
  };
  const std::vector<Case> cases = {
      {"tanh", [](auto& u, auto& v, int64_t i, int64_t j) { return std::tanh(dot(u, v, i, j)); }},
      {"linear", [](auto& u, auto& v, int64_t i, int64_t j) { return dot(u, v, i, j); }},
      {"polynomial:degree=2,offset=0", [](auto& u, auto& v, int64_t i, int64_t j) { return std::pow(dot(u, v, i, j), 2); }},
      {"rbf:gamma=0.5", [](auto& u, auto& v, int64_t i, int64_t j) { return std::exp(-0.5 * sqdist(u, v, i, j)); }},
      {"finite", [](auto& u, auto& v, int64_t i, int64_t j) { return std::max(0.0, 1 - sqdist(u, v, i, j)); }},
  };
  for (const auto& c : cases) {
    torch::manual_seed(3);
    KernelLinearImpl layer(opts(7, 4, 3, c.spec));
    layer.to(torch::kDouble);
    {
      torch::NoGradGuard g;
      layer.alpha.copy_(torch::randn({4}, torch::kDouble));
    }
    auto w = layer.weight().detach();
    ASSERT_EQ(w.sizes(), (std::vector<int64_t>{4, 7}));
    auto u = layer.u.detach(), v = layer.v.detach();
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 7; ++j)
        EXPECT_NEAR(w[i][j].item<double>(), layer.alpha[i].item<double>() * c.k(u, v, i, j), 1e-12) << c.spec;
    // Parameters: d (in + out) + alpha + bias.
    EXPECT_EQ(layer.parameter_count(), 3 * (7 + 4) + 4 + 4);
    auto x = torch::randn({5, 7}, torch::kDouble);
    EXPECT_TRUE(torch::allclose(layer.forward(x), x.mm(w.t()) + layer.bias.detach(), 1e-12, 1e-12));
    // Penalty: lambda2 / 2 * sum W^2.
    EXPECT_NEAR(layer.penalty().item<double>(), 0.5 * 20 * w.square().sum().item<double>(), 1e-9);
  }
}

TEST(SparseKernelLinear, WeightIsTheMaskedDenseMatrixAndPenaltiesAreExact) {
  torch::manual_seed(0);
  auto o = opts(6, 3, 2);
  o.lambda2 = 2;
  o.lambda_s = 0.5;
  SparseKernelLinearImpl layer(o);
  layer.to(torch::kDouble);
  {
    torch::NoGradGuard g;
    layer.u.copy_(torch::randn({3, 2}, torch::kDouble) * 0.6);
    layer.v.copy_(torch::randn({6, 2}, torch::kDouble) * 0.6);
  }
  auto u = layer.u.detach(), v = layer.v.detach(), a = layer.a.detach();
  auto w = layer.weight().detach();
  double ksq = 0, ksum = 0;
  int64_t nonzero = 0;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 6; ++j) {
      const double k = std::max(0.0, 1 - sqdist(u, v, i, j));
      EXPECT_NEAR(w[i][j].item<double>(), a[i][j].item<double>() * k, 1e-12);
      ksq += k * k;
      ksum += k;
      nonzero += k > 0;
    }
  EXPECT_GT(nonzero, 0);
  EXPECT_LT(nonzero, 18) << "the test wants some entries outside the support";
  EXPECT_EQ(layer.nonzero_weights(), nonzero);
  const double l2 = 0.5 * 2 * a.square().sum().item<double>();
  EXPECT_NEAR(layer.penalty().item<double>(), l2 + 0.5 * 0.5 * ksq, 1e-9);  // official: lambda_s / 2 sum K^2
  layer.options.sparsity_penalty = "linear";
  EXPECT_NEAR(layer.penalty().item<double>(), l2 + 0.5 * ksum, 1e-9);  // paper: lambda_0 sum K
}

TEST(SparseKernelLinear, StartsDenseWithTinyLocations) {
  torch::manual_seed(1);
  SparseKernelLinearImpl layer(opts(50, 40, 5));
  EXPECT_LE(layer.u.abs().max().item<double>(), 2e-3);  // truncated at two standard deviations
  EXPECT_LE(layer.v.abs().max().item<double>(), 2e-3);
  EXPECT_GT(layer.kernel_matrix().min().item<double>(), 0.9999);
  EXPECT_EQ(layer.nonzero_weights(), 50 * 40);
}

// u_i = v_j exactly: the kernel's gradient with respect to the locations is finite (0), not NaN.
TEST(SparseKernelLinear, GradientIsFiniteAtZeroDistance) {
  torch::manual_seed(2);
  SparseKernelLinearImpl layer(opts(4, 3, 2));
  {
    torch::NoGradGuard g;
    layer.u.zero_();
    layer.v.zero_();
  }
  auto x = torch::randn({5, 4});
  auto loss = layer.forward(x).square().sum() + layer.penalty();
  loss.backward();
  for (const auto& p : layer.parameters()) EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  EXPECT_EQ(layer.u.grad().abs().max().item<double>(), 0.0);
}

TEST(SparseKernelLinear, GradcheckInFloat64) {
  torch::manual_seed(4);
  SparseKernelLinearImpl layer(opts(5, 3, 2));
  layer.to(torch::kDouble);
  auto u = (torch::randn({3, 2}, torch::kDouble) * 0.4).requires_grad_();
  auto v = (torch::randn({5, 2}, torch::kDouble) * 0.4).requires_grad_();
  auto a = torch::randn({3, 5}, torch::kDouble).requires_grad_();
  auto x = torch::randn({4, 5}, torch::kDouble);
  auto r = rkhs::gradcheck(
      [&](const std::vector<at::Tensor>& in) {
        layer.u = in[0];
        layer.v = in[1];
        layer.a = in[2];
        return torch::cat({layer.forward(x).flatten(), layer.penalty().reshape({1})});
      },
      {u, v, a});
  EXPECT_TRUE(r.ok) << r.message;
}

// The counts of paper Table 4 for ML-1M (6040 users, hidden 500): I-AutoRec (1)/(2) 6.05M/6.30M parameters and
// 3.03M/3.28M MACs (10 rated movies), I-KernelNet (1)/(2) with d = 50: 0.67M/0.72M parameters.
TEST(AutoRecCounts, ReproduceTable4) {
  torch::manual_seed(0);
  AutoRecOptions o;
  o.hidden = 500;
  o.layer = "dense";
  o.layers = 1;
  EXPECT_EQ(AutoRecImpl(6040, o).parameter_count(), 6046540);
  EXPECT_DOUBLE_EQ(AutoRecImpl(6040, o).macs(10), 10 * 500 + 500 * 6040);
  o.layers = 2;
  EXPECT_EQ(AutoRecImpl(6040, o).parameter_count(), 6297040);
  EXPECT_DOUBLE_EQ(AutoRecImpl(6040, o).macs(10), 3275000);
  o.layer = "kernel";
  o.layer_options.dim = 50;
  o.layers = 1;
  EXPECT_EQ(AutoRecImpl(6040, o).parameter_count(), 667080);
  o.layers = 2;
  EXPECT_EQ(AutoRecImpl(6040, o).parameter_count(), 718080);
}

// MACs on a hand-made sparsity pattern: 1-D locations, K > 0 iff |u_i - v_j| < 1.
TEST(AutoRecCounts, MacsCountNonZeroWeights) {
  torch::manual_seed(0);
  AutoRecOptions o;
  o.layer = "sparse";
  o.layers = 1;
  o.hidden = 3;
  o.layer_options.dim = 1;
  AutoRecImpl m(4, o);
  auto& first = dynamic_cast<SparseKernelLinearImpl&>(*m.layers[0]);  // 4 users -> 3 hidden
  auto& out = dynamic_cast<SparseKernelLinearImpl&>(*m.layers[1]);    // 3 hidden -> 4 users
  {
    torch::NoGradGuard g;
    first.u.copy_(torch::tensor({{0.f}, {10.f}, {20.f}}));
    first.v.copy_(torch::tensor({{0.5f}, {30.f}, {20.2f}, {40.f}}));  // (0,0) and (2,2)
    out.u.copy_(torch::tensor({{0.f}, {0.3f}, {5.f}, {5.5f}}));
    out.v.copy_(torch::tensor({{0.f}, {5.f}, {9.5f}}));  // (0,0), (1,0), (2,1), (3,1)
  }
  EXPECT_EQ(first.nonzero_weights(), 2);
  EXPECT_EQ(out.nonzero_weights(), 4);
  EXPECT_DOUBLE_EQ(m.macs(2), 2.0 * 2 / 4 + 4);  // 2 observed inputs of 4: half the first layer's MACs
}

TEST(Layers, BadOptionsAreErrors) {
  EXPECT_THROW(make_layer("dense", opts(0, 3, 2)), rkhs::Error);
  EXPECT_THROW(make_layer("kernel", opts(3, 3, 0)), rkhs::Error);
  EXPECT_THROW(make_layer("kernel", opts(3, 3, 2, "nosuch")), rkhs::Error);
  EXPECT_THROW(make_layer("nosuch", opts(3, 3, 2)), rkhs::Error);
  auto o = opts(3, 3, 2);
  o.sparsity_penalty = "cubic";
  EXPECT_THROW(make_layer("sparse", o), rkhs::Error);
}
