#pragma once
// The model and optimizer the checkpoint and weight targets load into (and make_seeds writes from): a 2-3 linear
// layer with SGD + momentum, one step taken so that the optimizer has per-parameter state.
#include <torch/torch.h>

#include <memory>

namespace rkhs::fuzz {

struct TinyModel {
  torch::nn::Sequential net{torch::nn::Linear(2, 3)};
  std::unique_ptr<torch::optim::SGD> opt;

  TinyModel() {
    torch::manual_seed(0);
    opt = std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    opt->zero_grad();
    net->forward(torch::ones({4, 2})).sum().backward();
    opt->step();
  }
};

}  // namespace rkhs::fuzz
