#pragma once
// A classifier = backbone (input -> embedding) + head (embedding -> logits).
#include "rkhs/classify/head.h"
#include "rkhs/nn/backbone.h"

namespace rkhs::classify {

class ClassifierImpl : public torch::nn::Module {
 public:
  ClassifierImpl(std::shared_ptr<nn::BackboneImpl> backbone, std::shared_ptr<HeadImpl> head);
  torch::Tensor forward(const torch::Tensor& x);  // (B, ...) -> logits (B, C)
  torch::Tensor embed(const torch::Tensor& x);    // (B, ...) -> embeddings (B, d)
  // Weight-decay overrides of the head, with names as in this module's named_parameters() ("head.alpha_raw").
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const;

  std::shared_ptr<nn::BackboneImpl> backbone;
  std::shared_ptr<HeadImpl> head;
};

}  // namespace rkhs::classify
