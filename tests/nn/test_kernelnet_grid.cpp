// The kernelNet image backbone of paper 004 §3.2: connection matrices against a float64 element-by-element
// formula, fixed vs trained locations, initial variance, gradients, bad specs, and a small learning problem.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"
#include "rkhs/gradcheck.h"
#include "rkhs/nn/backbone.h"
#include "rkhs/nn/kernelnet_grid.h"

using namespace rkhs::nn;

namespace {

BackboneOptions grid_options(const std::string& name, std::vector<int64_t> shape, const std::string& layers) {
  BackboneOptions o;
  o.name = name;
  o.input_shape = std::move(shape);
  o.grid_layers = layers;
  return o;
}

}  // namespace

// W[o, c]_ij = alpha[o, c]_i exp(-gamma[o, c] ||u[o]_i - v[c]_j||^2) entry by entry, and the layer's output
// y[o]_i = sum_c sum_j W[o, c]_ij x[c]_j + b[o]_i by loops.
TEST(KernelNetGrid, LayerMatchesTheDirectFormula) {
  torch::manual_seed(1);
  const int64_t C = 2, n_in = 5, O = 3, n_out = 4, B = 2;
  GridKernelLayer layer(C, n_in, O, n_out, 0.25);
  layer->to(torch::kDouble);
  auto u = torch::rand({O, n_out, 2}, torch::kDouble), v = torch::rand({C, n_in, 2}, torch::kDouble);
  layer->init_alpha(u, v);
  {
    torch::NoGradGuard g;
    layer->bias.copy_(torch::randn({O, n_out}, torch::kDouble));
  }
  auto w = layer->weights(u, v);
  auto x = torch::randn({B, C, n_in}, torch::kDouble);
  auto y = layer->forward(x, u, v);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{O, C, n_out, n_in}));
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{B, O, n_out}));
  auto ua = u.accessor<double, 3>(), va = v.accessor<double, 3>(), xa = x.accessor<double, 3>();
  auto alpha = layer->alpha.detach(), bias = layer->bias.detach(), log_gamma = layer->log_gamma.detach();
  auto al = alpha.accessor<double, 3>();
  auto bi = bias.accessor<double, 2>(), lg = log_gamma.accessor<double, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < n_out; ++i) {
        double s = bi[o][i];
        for (int64_t c = 0; c < C; ++c)
          for (int64_t j = 0; j < n_in; ++j) {
            const double dx = ua[o][i][0] - va[c][j][0], dy = ua[o][i][1] - va[c][j][1];
            const double wij = al[o][c][i] * std::exp(-std::exp(lg[o][c]) * (dx * dx + dy * dy));
            if (b == 0) {
              EXPECT_NEAR(w[o][c][i][j].item<double>(), wij, 1e-14);
            }
            s += wij * xa[b][c][j];
          }
        EXPECT_NEAR(y[b][o][i].item<double>(), s, 1e-12);
      }
}

// The prior (Table 1 "yes"): pixel and unit locations on fixed grids, not trained. Without it: the same network
// with uniform random locations that are parameters and receive gradients.
TEST(KernelNetGrid, GridLocationsAreFixedRandomOnesAreTrained) {
  torch::manual_seed(2);
  auto grid_net = make_backbone(grid_options("kernelnet-grid", {1, 6, 6}, "2x3,3x2"));
  auto random_net = make_backbone(grid_options("kernelnet-random", {1, 6, 6}, "2x3,3x2"));
  auto& g = dynamic_cast<KernelNetGridBackboneImpl&>(*grid_net);
  auto& r = dynamic_cast<KernelNetGridBackboneImpl&>(*random_net);
  ASSERT_EQ(g.depth(), 2u);
  EXPECT_EQ(g.output_dim(), 3 * 4);
  // Pixel (row 1, column 2) of a 6 x 6 image sits at (x, y) = (2/5, 1/5); every map of a level shares the grid.
  EXPECT_NEAR(g.locations(0)[0][1 * 6 + 2][0].item<float>(), 0.4f, 1e-6);
  EXPECT_NEAR(g.locations(0)[0][1 * 6 + 2][1].item<float>(), 0.2f, 1e-6);
  EXPECT_TRUE(torch::equal(g.locations(1)[0], g.locations(1)[1]));
  EXPECT_NEAR(g.locations(2)[0][3][0].item<float>(), 1.0f, 1e-6);
  // Parameters: grid = alpha, log gamma and bias only; random adds every level's locations.
  int64_t grid_params = 0, random_params = 0;
  for (const auto& p : grid_net->parameters()) grid_params += p.numel();
  for (const auto& p : random_net->parameters()) random_params += p.numel();
  const int64_t layer_params = (2 * 1 * 9 + 2 + 2 * 9) + (3 * 2 * 4 + 6 + 3 * 4);
  EXPECT_EQ(grid_params, layer_params);
  EXPECT_EQ(random_params, layer_params + (36 + 2 * 9 + 3 * 4) * 2);
  auto x = torch::randn({4, 1, 6, 6});
  random_net->forward(x).square().sum().backward();
  for (size_t l = 0; l < 3; ++l) {
    ASSERT_TRUE(r.locations(l).grad().defined()) << "level " << l;
    EXPECT_GT(r.locations(l).grad().abs().sum().item<double>(), 0) << "level " << l;
  }
  EXPECT_FALSE(g.locations(0).requires_grad());
}

// alpha is drawn so that every unit's pre-activation has variance 2 Var(x) (He) for white inputs.
TEST(KernelNetGrid, InitialPreActivationVarianceIsTwice) {
  torch::manual_seed(3);
  for (const std::string mode : {"grid", "random"}) {
    KernelNetGridBackboneImpl net({2, 12, 12}, {{8, 6}}, mode);
    auto x = torch::randn({4000, 2, 144});
    torch::NoGradGuard g;
    auto y = net.layer(0)->forward(x, net.locations(1), net.locations(0));  // bias is 0
    const double ratio = y.var().item<double>();
    EXPECT_GT(ratio, 1.6) << mode;
    EXPECT_LT(ratio, 2.4) << mode;
  }
}

// Float64 gradcheck of the layer in alpha, log gamma, bias and both location sets, including coincident
// locations (u = v: the distance is computed from differences, so its gradient is finite there).
TEST(KernelNetGrid, Gradcheck) {
  torch::manual_seed(4);
  GridKernelLayer layer(2, 3, 2, 3, 0.5);
  layer->to(torch::kDouble);
  auto v = torch::rand({2, 3, 2}, torch::kDouble);
  auto u = v.clone().requires_grad_(true);
  v.requires_grad_(true);
  layer->init_alpha(u.detach(), v.detach());
  auto x = torch::randn({3, 2, 3}, torch::kDouble);
  {
    torch::NoGradGuard none;
    layer->bias.copy_(torch::randn({2, 3}, torch::kDouble));
  }
  // gradcheck perturbs its inputs in place, so the layer's own parameter tensors are passed and the layer is
  // evaluated as it is.
  auto f = [&](const std::vector<at::Tensor>& in) { return layer->forward(x, in[3], in[4]); };
  auto res = rkhs::gradcheck(f, {layer->alpha, layer->log_gamma, layer->bias, u, v});
  EXPECT_TRUE(res.ok) << res.message;
  // At u = v the distance gradient is 0, not NaN.
  auto grads = torch::autograd::grad({layer->forward(x, u, v).sum()}, {u});
  EXPECT_TRUE(torch::isfinite(grads[0]).all().item<bool>());
}

TEST(KernelNetGrid, BadSpecsAndShapesAreErrors) {
  EXPECT_EQ(parse_grid_layers("16x14,16x7").size(), 2u);
  EXPECT_EQ(parse_grid_layers("16x14")[0].side, 14);
  for (const std::string bad : {"", "16", "16x", "x7", "16x1", "0x7", "16x7,", "16x7x2", "a x7", "16x7 ", "-1x7"})
    EXPECT_THROW(parse_grid_layers(bad), rkhs::Error) << "'" << bad << "'";
  EXPECT_THROW(make_backbone(grid_options("kernelnet-grid", {1, 28, 27}, "4x7")), rkhs::Error);
  EXPECT_THROW(make_backbone(grid_options("kernelnet-grid", {784}, "4x7")), rkhs::Error);
  EXPECT_THROW(make_backbone(grid_options("kernelnet-grid", {1, 28, 28}, "4x7x")), rkhs::Error);
  auto net = make_backbone(grid_options("kernelnet-random", {1, 8, 8}, "2x4"));
  EXPECT_THROW(net->forward(torch::randn({2, 1, 8, 7})), rkhs::Error);
}

// Two classes of 8 x 8 images, a bright 2 x 2 blob in the left or the right half plus noise: a one-layer grid
// network with a linear read-out learns it almost perfectly in 150 Adam steps.
TEST(KernelNetGrid, LearnsASpatialTask) {
  torch::manual_seed(5);
  auto make = [](int64_t n) {
    auto y = torch::randint(0, 2, {n}, torch::kLong);
    auto x = 0.3 * torch::randn({n, 1, 8, 8});
    auto rows = torch::randint(0, 7, {n}), cols = torch::randint(0, 3, {n}) + 5 * y;
    for (int64_t i = 0; i < n; ++i) {
      const auto r = rows[i].item<int64_t>(), c = cols[i].item<int64_t>();
      x[i][0].slice(0, r, r + 2).slice(1, c, c + 2) += 2.0;
    }
    return std::make_pair(x, y);
  };
  auto [xtr, ytr] = make(512);
  auto [xte, yte] = make(512);
  for (const std::string name : {"kernelnet-grid", "kernelnet-random"}) {
    auto net = make_backbone(grid_options(name, {1, 8, 8}, "4x4"));
    torch::nn::Linear head(net->output_dim(), 2);
    std::vector<at::Tensor> params = net->parameters();
    for (const auto& p : head->parameters()) params.push_back(p);
    torch::optim::Adam opt(params, torch::optim::AdamOptions(0.01));
    for (int step = 0; step < 150; ++step) {
      opt.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(head->forward(net->forward(xtr)), ytr);
      loss.backward();
      opt.step();
    }
    torch::NoGradGuard g;
    const double acc = (head->forward(net->forward(xte)).argmax(1) == yte).to(torch::kDouble).mean().item<double>();
    EXPECT_GT(acc, 0.95) << name;
  }
}
