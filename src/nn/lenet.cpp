#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/nn/backbones.h"

namespace rkhs::nn {

LeNet5BackboneImpl::LeNet5BackboneImpl(std::vector<int64_t> input_shape, bool final_relu)
    : input_shape_(std::move(input_shape)), final_relu_(final_relu) {
  const bool ok = input_shape_.size() == 3 && input_shape_[0] > 0 && input_shape_[1] == input_shape_[2] &&
                  (input_shape_[1] == 28 || input_shape_[1] == 32);
  RKHS_CHECK(ok, "lenet5 backbone: input must be C x 28 x 28 or C x 32 x 32, got " + shape_string(input_shape_));
  const int64_t pad = input_shape_[1] == 28 ? 2 : 0;  // both sizes reach 28x28 after conv1
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(input_shape_[0], 6, 5).padding(pad)));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 16, 5)));
  fc1_ = register_module("fc1", torch::nn::Linear(16 * 5 * 5, 120));
  fc2_ = register_module("fc2", torch::nn::Linear(120, 84));
  for (auto* w : {&conv1_->weight, &conv2_->weight, &fc1_->weight, &fc2_->weight})
    torch::nn::init::kaiming_normal_(*w, 0.0, torch::kFanIn, torch::kReLU);
  for (auto* b : {&conv1_->bias, &conv2_->bias, &fc1_->bias, &fc2_->bias}) torch::nn::init::zeros_(*b);
}

torch::Tensor LeNet5BackboneImpl::forward(const torch::Tensor& x) {
  check_input_shape(x, input_shape_, "lenet5 backbone");
  auto h = torch::max_pool2d(torch::relu(conv1_->forward(x)), 2);  // (B, 6, 14, 14)
  h = torch::max_pool2d(torch::relu(conv2_->forward(h)), 2);        // (B, 16, 5, 5)
  h = torch::relu(fc1_->forward(h.flatten(1)));                      // (B, 120)
  h = fc2_->forward(h);                                              // (B, 84)
  return final_relu_ ? torch::relu(h) : h;
}

}  // namespace rkhs::nn
