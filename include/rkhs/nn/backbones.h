#pragma once
// The concrete backbones behind make_backbone(), for users who want to build one directly. Each maps
// x: (B, *input_shape) -> z: (B, output_dim()) and checks the input shape (rkhs::Error on a mismatch).
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "rkhs/nn/backbone.h"

namespace rkhs::nn {

// z = x flattened: d = prod(input_shape).
class IdentityBackboneImpl : public BackboneImpl {
 public:
  explicit IdentityBackboneImpl(std::vector<int64_t> input_shape);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t output_dim() const override { return dim_; }

 private:
  std::vector<int64_t> input_shape_;
  int64_t dim_;
};

// x flattened to prod(input_shape), then Linear(h_i) + ReLU for every hidden width h_i; the last width is the
// embedding dimension and its ReLU is applied only when final_relu.
class MlpBackboneImpl : public BackboneImpl {
 public:
  MlpBackboneImpl(std::vector<int64_t> input_shape, std::vector<int64_t> hidden, bool final_relu);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t output_dim() const override { return hidden_.back(); }

 private:
  std::vector<int64_t> input_shape_, hidden_;
  bool final_relu_;
  std::vector<torch::nn::Linear> layers_;
};

// LeNet-5 (LeCun et al. 1998, modern ReLU/max-pool variant) for C x 28 x 28 and C x 32 x 32 inputs:
// conv 6@5x5 (padding 2 for 28x28) - ReLU - maxpool 2 - conv 16@5x5 - ReLU - maxpool 2 - FC 400->120 - ReLU -
// FC 120->84 [- ReLU when final_relu]. Embedding dimension 84.
class LeNet5BackboneImpl : public BackboneImpl {
 public:
  LeNet5BackboneImpl(std::vector<int64_t> input_shape, bool final_relu);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t output_dim() const override { return 84; }

 private:
  std::vector<int64_t> input_shape_;
  bool final_relu_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// One basic block of the CIFAR ResNet: conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut (identity, or a 1x1
// convolution with stride + BN when the shape changes), then ReLU after the addition unless final_relu is
// false for the network's last block.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride, bool relu_out);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool relu_out_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, proj_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, proj_bn_{nullptr};
};
TORCH_MODULE(BasicBlock);

// CIFAR ResNet-n (He et al. 2016, section 4.2), n = 6k + 2: conv3x3(16)-BN-ReLU, three stages of k basic
// blocks with 16, 32, 64 channels (the first block of stages 2 and 3 has stride 2 and a projection shortcut),
// global average pooling -> 64-d embedding. Input C x H x W with H, W >= 8 (made for 28x28 and 32x32).
// final_relu = false removes the ReLU after the last block's addition (paper 000, appendix D.4), so the
// embedding can have negative entries; final_relu = true is the original network.
// Projection shortcuts (He et al.'s option B) make the ResNet-20 backbone 271,824 parameters instead of 269,072 (option A; +650 for a 10-class head).
class ResNetBackboneImpl : public BackboneImpl {
 public:
  ResNetBackboneImpl(int64_t depth, std::vector<int64_t> input_shape, bool final_relu);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t output_dim() const override { return 64; }
  int64_t depth() const { return depth_; }

 private:
  int64_t depth_;
  std::vector<int64_t> input_shape_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
};

// Checks that x is (B, *shape) and throws rkhs::Error naming `who` otherwise.
void check_input_shape(const torch::Tensor& x, const std::vector<int64_t>& shape, const std::string& who);

// "[3, 32, 32]"
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace rkhs::nn
