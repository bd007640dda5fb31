#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/nn/backbone.h"
#include "rkhs/nn/backbones.h"

using rkhs::nn::BackboneOptions;
using rkhs::nn::make_backbone;

namespace {

BackboneOptions opts(const std::string& name, std::vector<int64_t> shape, bool final_relu = false) {
  BackboneOptions o;
  o.name = name;
  o.input_shape = std::move(shape);
  o.final_relu = final_relu;
  return o;
}

int64_t count_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST(Backbone, IdentityFlattens) {
  auto b = make_backbone(opts("identity", {2, 3, 4}));
  EXPECT_EQ(b->output_dim(), 24);
  auto x = torch::randn({5, 2, 3, 4});
  auto z = b->forward(x);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{5, 24}));
  EXPECT_TRUE(torch::equal(z, x.reshape({5, 24})));
}

TEST(Backbone, MlpWidthsAndFinalRelu) {
  auto o = opts("mlp", {7});
  o.hidden = {16, 9, 5};
  auto b = make_backbone(o);
  EXPECT_EQ(b->output_dim(), 5);
  EXPECT_EQ(b->named_parameters().size(), 6u);
  torch::manual_seed(0);
  auto z = b->forward(torch::randn({64, 7}));
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{64, 5}));
  EXPECT_LT(z.min().item<float>(), 0.0f);  // no final ReLU by default
  o.final_relu = true;
  auto r = make_backbone(o)->forward(torch::randn({64, 7}));
  EXPECT_GE(r.min().item<float>(), 0.0f);
  o.hidden = {};
  EXPECT_THROW(make_backbone(o), rkhs::Error);
}

TEST(Backbone, LeNet5Shapes) {
  torch::manual_seed(1);
  for (auto shape : {std::vector<int64_t>{1, 28, 28}, std::vector<int64_t>{3, 32, 32}}) {
    auto b = make_backbone(opts("lenet5", shape));
    EXPECT_EQ(b->output_dim(), 84);
    std::vector<int64_t> xs = {8};
    xs.insert(xs.end(), shape.begin(), shape.end());
    auto z = b->forward(torch::randn(xs));
    EXPECT_EQ(z.sizes(), (std::vector<int64_t>{8, 84}));
    EXPECT_LT(z.min().item<float>(), 0.0f);
    auto r = make_backbone(opts("lenet5", shape, true))->forward(torch::randn(xs));
    EXPECT_GE(r.min().item<float>(), 0.0f);
  }
  // Classic LeNet-5 parameter count for 1x32x32 would be 61706 minus the classifier; ours ends at 84:
  // conv1 156 + conv2 2416 + fc1 48120 + fc2 10164.
  auto b = make_backbone(opts("lenet5", {1, 28, 28}));
  EXPECT_EQ(count_parameters(*b), 156 + 2416 + 48120 + 10164);
  EXPECT_THROW(make_backbone(opts("lenet5", {3, 64, 64})), rkhs::Error);
  EXPECT_THROW(make_backbone(opts("lenet5", {784})), rkhs::Error);
}

TEST(Backbone, ResNetShapes) {
  torch::manual_seed(2);
  for (const std::string name : {"resnet8", "resnet14", "resnet20"}) {
    for (auto shape : {std::vector<int64_t>{1, 28, 28}, std::vector<int64_t>{3, 32, 32}}) {
      auto b = make_backbone(opts(name, shape));
      EXPECT_EQ(b->output_dim(), 64);
      std::vector<int64_t> xs = {2};
      xs.insert(xs.end(), shape.begin(), shape.end());
      auto z = b->forward(torch::randn(xs));
      EXPECT_EQ(z.sizes(), (std::vector<int64_t>{2, 64})) << name;
      EXPECT_TRUE(torch::isfinite(z).all().item<bool>());
    }
  }
}

TEST(Backbone, ResNet20ParameterCount) {
  // He et al. 2016, Table 6: ResNet-20 has 0.27M parameters (269,722 with option-A shortcuts and the 64->10
  // classifier, i.e. 269,072 without it); projection shortcuts add 16*32 + 32*64 weights + 2*(32+64) BN = 2,752.
  auto b = make_backbone(opts("resnet20", {3, 32, 32}));
  const auto n = count_parameters(*b);
  EXPECT_GT(n, 265000);
  EXPECT_LT(n, 275000);
  EXPECT_EQ(n, 269072 + 2752);
}

TEST(Backbone, ResNetFinalReluControlsSign) {
  torch::manual_seed(3);
  auto x = torch::randn({4, 3, 32, 32});
  auto plain = make_backbone(opts("resnet8", {3, 32, 32}, false));
  auto rect = make_backbone(opts("resnet8", {3, 32, 32}, true));
  EXPECT_LT(plain->forward(x).min().item<float>(), 0.0f);
  EXPECT_GE(rect->forward(x).min().item<float>(), 0.0f);
}

TEST(Backbone, Errors) {
  EXPECT_THROW(make_backbone(opts("resnet21", {3, 32, 32})), rkhs::Error);
  EXPECT_THROW(make_backbone(opts("resnet2", {3, 32, 32})), rkhs::Error);
  EXPECT_THROW(make_backbone(opts("resnetx", {3, 32, 32})), rkhs::Error);
  EXPECT_THROW(make_backbone(opts("resnet20", {3072})), rkhs::Error);
  EXPECT_THROW(make_backbone(opts("vgg", {3, 32, 32})), rkhs::Error);
  EXPECT_THROW(make_backbone(opts("identity", {})), rkhs::Error);
  auto b = make_backbone(opts("resnet8", {3, 32, 32}));
  EXPECT_THROW(b->forward(torch::randn({2, 1, 32, 32})), rkhs::Error);
  EXPECT_EQ(b->forward(torch::randn({2, 3, 32, 32})).size(1), 64);
}

TEST(Backbone, NamesAllConstruct) {
  for (const auto& name : rkhs::nn::backbone_names()) {
    auto o = opts(name, name == "identity" || name == "mlp" ? std::vector<int64_t>{12} : std::vector<int64_t>{3, 32, 32});
    EXPECT_NO_THROW(make_backbone(o)) << name;
  }
}
