// The empirical NTK: finite differences with Rademacher directions (eq. 20) against the exact Jacobian product
// J J^T computed example by example with autograd; K-means and the cluster accuracy.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/spectral/ntk.h"
#include "rkhs/spectral/quality.h"

using namespace rkhs::spectral;

namespace {

// A small float64 MLP g(x) = w2^T tanh(W1 x + b1) + b2.
struct Tiny {
  at::Tensor w1 = torch::randn({3, 6}, torch::kFloat64).requires_grad_();
  at::Tensor b1 = torch::randn({6}, torch::kFloat64).requires_grad_();
  at::Tensor w2 = torch::randn({6, 1}, torch::kFloat64).requires_grad_();
  at::Tensor b2 = torch::randn({1}, torch::kFloat64).requires_grad_();
  std::vector<at::Tensor> params() const { return {w1, b1, w2, b2}; }
  at::Tensor operator()(const at::Tensor& x) const { return torch::addmm(b2, torch::tanh(torch::addmm(b1, x, w1)), w2).squeeze(1); }
};

// J J^T from one autograd gradient per example, dotted pairwise in float64.
at::Tensor exact_ntk(const Tiny& net, const at::Tensor& x) {
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < x.size(0); ++i) {
    auto grads = torch::autograd::grad({net(x.slice(0, i, i + 1)).sum()}, net.params());
    std::vector<at::Tensor> flat;
    for (auto& g : grads) flat.push_back(g.reshape({-1}));
    rows.push_back(torch::cat(flat));
  }
  auto j = torch::stack(rows);
  return j.mm(j.t());
}

}  // namespace

TEST(NTK, JacobianFeaturesGiveTheExactKernel) {
  torch::manual_seed(1);
  Tiny net;
  auto x = torch::randn({7, 3}, torch::kFloat64);
  NTKOptions o;
  o.method = "jacobian";
  auto phi = ntk_features([&](const at::Tensor& b) { return net(b); }, net.params(), x, o);
  EXPECT_EQ(phi.size(1), 3 * 6 + 6 + 6 + 1);
  EXPECT_TRUE(torch::allclose(phi.mm(phi.t()), exact_ntk(net, x), 1e-10, 1e-12));
}

TEST(NTK, FiniteDifferencesConvergeToJJt) {
  torch::manual_seed(2);
  Tiny net;
  auto x = torch::randn({6, 3}, torch::kFloat64);
  auto before = net.w1.clone();
  auto g = [&](const at::Tensor& b) { return net(b); };
  const auto exact = exact_ntk(net, x);
  auto error = [&](int64_t samples) {
    NTKOptions o;
    o.samples = samples;
    o.seed = 3;
    auto phi = ntk_features(g, net.params(), x, o);
    return ((phi.mm(phi.t()) - exact).norm() / exact.norm()).item<double>();
  };
  const double e_many = error(20000), e_few = error(50);
  EXPECT_LT(e_many, 0.03);
  EXPECT_GT(e_few, e_many);
  EXPECT_TRUE(net.w1.equal(before));  // the parameters are restored exactly
}

TEST(NTK, KernelIsNormalisedToUnitMeanDiagonalAndCachesItsPoints) {
  torch::manual_seed(4);
  Tiny net;
  auto x = torch::randn({9, 3}, torch::kFloat64);
  NTKOptions o;
  o.method = "jacobian";
  NTKKernel kernel([&](const at::Tensor& b) { return net(b); }, net.params(), o);
  kernel.normalise_on(x);
  auto k = kernel.gram(x, x);
  EXPECT_NEAR(k.diagonal().mean().item<double>(), 1.0, 1e-10);
  EXPECT_TRUE(torch::allclose(k, exact_ntk(net, x) / (kernel.scale() * kernel.scale()), 1e-9, 1e-12));
  auto y = torch::randn({2, 3}, torch::kFloat64);
  EXPECT_EQ(kernel.gram(y, x).sizes(), (std::vector<int64_t>{2, 9}));
  o.method = "bogus";
  EXPECT_THROW(ntk_features([&](const at::Tensor& b) { return net(b); }, net.params(), x, o), rkhs::Error);
}

TEST(KMeans, SeparatedClustersAreFoundAndMatchedToTheirLabels) {
  torch::manual_seed(5);
  auto labels = torch::arange(300, torch::kLong).remainder(3);
  auto centres = torch::tensor({{0.0, 0.0}, {10.0, 0.0}, {0.0, 10.0}}, torch::kFloat64);
  auto x = centres.index({labels}) + 0.5 * torch::randn({300, 2}, torch::kFloat64);
  auto clusters = kmeans_labels(x, 3, 1);
  EXPECT_DOUBLE_EQ(cluster_accuracy(clusters, labels, 3), 1.0);
  // The matching is over permutations: swapped cluster names score the same, a wrong half scores one half.
  EXPECT_DOUBLE_EQ(cluster_accuracy((labels + 1).remainder(3), labels, 3), 1.0);
  auto two = torch::tensor({0, 0, 1, 1}, torch::kLong);
  EXPECT_DOUBLE_EQ(cluster_accuracy(torch::tensor({0, 1, 0, 1}, torch::kLong), two, 2), 0.5);
  EXPECT_THROW(cluster_accuracy(two, torch::tensor({0, 0, 1, 2}, torch::kLong), 2), rkhs::Error);
  EXPECT_THROW(kmeans_labels(torch::randn({2, 2}), 3, 0), rkhs::Error);
}
