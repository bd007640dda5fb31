#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/nn/backbones.h"

namespace rkhs::nn {

namespace {

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  torch::nn::Conv2d c(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
  torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
  return c;
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride, bool relu_out)
    : relu_out_(relu_out) {
  conv1_ = register_module("conv1", conv3x3(in_channels, out_channels, stride));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out_channels));
  conv2_ = register_module("conv2", conv3x3(out_channels, out_channels, 1));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    proj_ = register_module(
        "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1).stride(stride).bias(false)));
    torch::nn::init::kaiming_normal_(proj_->weight, 0.0, torch::kFanOut, torch::kReLU);
    proj_bn_ = register_module("proj_bn", torch::nn::BatchNorm2d(out_channels));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(bn1_->forward(conv1_->forward(x)));
  h = bn2_->forward(conv2_->forward(h));
  h = h + (proj_ ? proj_bn_->forward(proj_->forward(x)) : x);
  return relu_out_ ? torch::relu(h) : h;
}

ResNetBackboneImpl::ResNetBackboneImpl(int64_t depth, std::vector<int64_t> input_shape, bool final_relu)
    : depth_(depth), input_shape_(std::move(input_shape)) {
  RKHS_CHECK(depth >= 8 && (depth - 2) % 6 == 0,
             "resnet backbone: depth must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, ...), got " +
                 std::to_string(depth));
  const bool ok = input_shape_.size() == 3 && input_shape_[0] > 0 && input_shape_[1] >= 8 && input_shape_[2] >= 8;
  RKHS_CHECK(ok, "resnet" + std::to_string(depth) + " backbone: input must be C x H x W with H, W >= 8 (e.g. 3 x 32 x 32), got " +
                     shape_string(input_shape_));
  const int64_t n = (depth - 2) / 6;
  stem_ = register_module("stem", conv3x3(input_shape_[0], 16, 1));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(16));
  blocks_ = torch::nn::Sequential();
  int64_t in = 16;
  const int64_t widths[3] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    for (int64_t b = 0; b < n; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      const bool last = stage == 2 && b == n - 1;
      blocks_->push_back(BasicBlock(in, widths[stage], stride, last ? final_relu : true));
      in = widths[stage];
    }
  }
  blocks_ = register_module("blocks", blocks_);
}

torch::Tensor ResNetBackboneImpl::forward(const torch::Tensor& x) {
  check_input_shape(x, input_shape_, "resnet" + std::to_string(depth_) + " backbone");
  auto h = torch::relu(stem_bn_->forward(stem_->forward(x)));
  h = blocks_->forward(h);            // (B, 64, H/4, W/4)
  return h.mean(std::vector<int64_t>{2, 3});  // global average pool -> (B, 64)
}

}  // namespace rkhs::nn
