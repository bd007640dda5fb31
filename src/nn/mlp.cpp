#include <torch/torch.h>

#include <numeric>

#include "rkhs/error.h"
#include "rkhs/nn/backbones.h"

namespace rkhs::nn {

MlpBackboneImpl::MlpBackboneImpl(std::vector<int64_t> input_shape, std::vector<int64_t> hidden, bool final_relu)
    : input_shape_(std::move(input_shape)), hidden_(std::move(hidden)), final_relu_(final_relu) {
  RKHS_CHECK(!input_shape_.empty(), "mlp backbone: input_shape is empty");
  for (auto s : input_shape_) RKHS_CHECK(s > 0, "mlp backbone: invalid input shape " + shape_string(input_shape_));
  RKHS_CHECK(!hidden_.empty(), "mlp backbone: needs at least one hidden width (the last is the embedding)");
  int64_t in = std::accumulate(input_shape_.begin(), input_shape_.end(), int64_t{1}, std::multiplies<int64_t>());
  for (size_t i = 0; i < hidden_.size(); ++i) {
    RKHS_CHECK(hidden_[i] > 0, "mlp backbone: hidden widths must be positive, got " + shape_string(hidden_));
    auto layer = register_module("fc" + std::to_string(i), torch::nn::Linear(in, hidden_[i]));
    torch::nn::init::kaiming_normal_(layer->weight, 0.0, torch::kFanIn, torch::kReLU);
    torch::nn::init::zeros_(layer->bias);
    layers_.push_back(layer);
    in = hidden_[i];
  }
}

torch::Tensor MlpBackboneImpl::forward(const torch::Tensor& x) {
  check_input_shape(x, input_shape_, "mlp backbone");
  auto h = x.reshape({x.size(0), -1});
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    if (i + 1 < layers_.size() || final_relu_) h = torch::relu(h);
  }
  return h;
}

}  // namespace rkhs::nn
