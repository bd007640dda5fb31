// Paper 004 §3.3: eq. 9 (sparsifying nonlinearity), eq. 10 (centre of mass), the grid layer, and a small network
// whose 2-D embedding separates well-separated classes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/kernelnet/embedding.h"
#include "rkhs/kernelnet/layers.h"

using namespace rkhs::kernelnet;

TEST(Embedding, SparsifyIsEquation9) {
  auto x = torch::tensor({{1.f, 2.f, 3.f, 6.f}, {-1.f, -1.f, -1.f, -1.f}});
  // eta 0.5: threshold 0.5 * 6 + 0.5 * 3 = 4.5; a constant row becomes all zero.
  EXPECT_TRUE(torch::allclose(sparsify(x, 0.5), torch::tensor({{0.f, 0.f, 0.f, 1.5f}, {0.f, 0.f, 0.f, 0.f}})));
  EXPECT_TRUE(torch::allclose(sparsify(x, 0.0), torch::tensor({{0.f, 0.f, 0.f, 3.f}, {0.f, 0.f, 0.f, 0.f}})));
  EXPECT_THROW(sparsify(x, 1.5), rkhs::Error);
}

TEST(Embedding, CentreOfMassIsEquation10) {
  auto v = torch::tensor({{0.f, 0.f}, {1.f, 1.f}, {1.f, 0.f}});
  auto x = torch::tensor({{1.f, 0.f, 3.f}, {0.f, 0.f, 0.f}});
  int64_t empty = -1;
  auto c = centre_of_mass(x, v, &empty);
  EXPECT_TRUE(torch::allclose(c[0], torch::tensor({0.75f, 0.f})));
  EXPECT_TRUE(torch::allclose(c[1], v.mean(0)));  // no activation: the mean location
  EXPECT_EQ(empty, 1);
}

TEST(Embedding, GridLayerKeepsItsOutputLocationsFixed) {
  auto g = grid_locations(3);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{9, 2}));
  EXPECT_TRUE(torch::allclose(g[1], torch::tensor({0.5f, 0.f})));
  EXPECT_TRUE(torch::allclose(g[8], torch::tensor({1.f, 1.f})));
  LayerOptions o;
  o.in = 4;
  o.out = 9;
  o.dim = 2;
  o.kernel = "rbf:sigma=0.3";
  o.grid_outputs = true;
  KernelLinearImpl layer(o);
  for (const auto& p : layer.named_parameters()) EXPECT_NE(p.key(), "u");
  EXPECT_TRUE(torch::equal(layer.u, g));
  layer.forward(torch::randn({2, 4})).sum().backward();
  EXPECT_TRUE(layer.v.grad().defined());
  EXPECT_EQ(layer.parameter_count(), 4 * 2 + 9 + 9);
  o.out = 8;
  EXPECT_THROW(KernelLinearImpl{o}, rkhs::Error);  // not a square
}

TEST(Embedding, SmallNetworkSeparatesClassesIn2D) {
  torch::manual_seed(0);
  const int64_t n = 400, d = 8, classes = 4;
  auto y = torch::arange(n) % classes;
  auto centres = torch::randn({classes, d}) * 3;
  auto x = centres.index({y}) + 0.3 * torch::randn({n, d});
  EmbeddingOptions o;
  o.input_dim = d;
  o.encoder = {32};
  o.grid = 8;
  o.decoder = {32};
  o.classes = classes;
  EmbeddingNet net(o);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(3e-3));
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    torch::cross_entropy_loss(net->forward(x), y).backward();
    opt.step();
  }
  net->eval();
  torch::NoGradGuard g;
  EXPECT_GT(net->forward(x).argmax(1).eq(y).to(torch::kFloat).mean().item<float>(), 0.95);
  // In the embedding, every point is nearer to its own class mean than to any other class mean for most points.
  auto e = net->embed(x);
  auto means = torch::stack({e.index({y == 0}).mean(0), e.index({y == 1}).mean(0), e.index({y == 2}).mean(0),
                             e.index({y == 3}).mean(0)});
  auto nearest = torch::cdist(e, means).argmin(1);
  EXPECT_GT(nearest.eq(y).to(torch::kFloat).mean().item<float>(), 0.9);
  EXPECT_GE(e.min().item<float>(), 0.f);
  EXPECT_LE(e.max().item<float>(), 1.f);
}

// The autoencoder objective (paper Figure 5a): the outputs reconstruct the input (logits of a per-pixel
// cross-entropy), and training lowers the reconstruction error of a two-pattern problem far below the start.
TEST(Embedding, AutoencoderReconstructsItsInput) {
  torch::manual_seed(1);
  const int64_t n = 200, d = 12;
  auto y = torch::arange(n) % 2;
  auto x = torch::where((torch::arange(d) < d / 2).unsqueeze(0) == y.unsqueeze(1).to(torch::kBool),
                        0.9 * torch::ones({n, d}), 0.1 * torch::ones({n, d}));
  EmbeddingOptions o;
  o.input_dim = d;
  o.encoder = {16};
  o.grid = 5;
  o.decoder = {16};
  o.objective = "autoencoder";
  EmbeddingNet net(o);
  ASSERT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{n, d}));
  auto mse = [&] {
    torch::NoGradGuard g;
    return (net->forward(x).sigmoid() - x).square().mean().item<double>();
  };
  const double before = mse();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(3e-3));
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    torch::binary_cross_entropy_with_logits(net->forward(x), x).backward();
    opt.step();
  }
  EXPECT_LT(mse(), 0.1 * before);
  o.objective = "regression";
  EXPECT_THROW(EmbeddingNet{o}, rkhs::Error);
}
