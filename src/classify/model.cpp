#include "rkhs/classify/model.h"

#include <torch/torch.h>

#include "rkhs/error.h"

namespace rkhs::classify {

ClassifierImpl::ClassifierImpl(std::shared_ptr<nn::BackboneImpl> backbone_, std::shared_ptr<HeadImpl> head_)
    : backbone(register_module("backbone", std::move(backbone_))), head(register_module("head", std::move(head_))) {}

torch::Tensor ClassifierImpl::embed(const torch::Tensor& x) { return backbone->forward(x); }

torch::Tensor ClassifierImpl::forward(const torch::Tensor& x) { return head->forward(backbone->forward(x)); }

std::vector<std::pair<std::string, double>> ClassifierImpl::weight_decay_overrides() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, wd] : head->weight_decay_overrides()) out.emplace_back("head." + name, wd);
  return out;
}

}  // namespace rkhs::classify
