#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/nn/backbone.h"

namespace rkhs::nn {

std::vector<std::string> backbone_names() {
  return {"identity", "mlp", "lenet5", "resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56"};
}

}  // namespace rkhs::nn
