#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/nn/backbone.h"
#include "rkhs/nn/backbones.h"
#include "rkhs/nn/kernelnet_grid.h"

namespace rkhs::nn {

std::vector<std::string> backbone_names() {
  return {"identity", "mlp", "lenet5", "resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56",
          "kernelnet-grid", "kernelnet-random"};
}

std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options) {
  const auto& name = options.name;
  if (name == "identity") return std::make_shared<IdentityBackboneImpl>(options.input_shape);
  if (name == "mlp") return std::make_shared<MlpBackboneImpl>(options.input_shape, options.hidden, options.final_relu);
  if (name == "lenet5" || name == "lenet") return std::make_shared<LeNet5BackboneImpl>(options.input_shape, options.final_relu);
  if (name == "kernelnet-grid" || name == "kernelnet-random")
    return std::make_shared<KernelNetGridBackboneImpl>(options.input_shape, parse_grid_layers(options.grid_layers),
                                                       name.substr(10));
  if (name.rfind("resnet", 0) == 0 && name.size() > 6) {
    const std::string digits = name.substr(6);
    RKHS_CHECK(digits.find_first_not_of("0123456789") == std::string::npos && digits.size() <= 6,
               "unknown backbone '" + name + "' (resnet depth must be a number, e.g. resnet20)");
    return std::make_shared<ResNetBackboneImpl>(std::stoll(digits), options.input_shape, options.final_relu);
  }
  std::string known;
  for (const auto& n : backbone_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown backbone '" + name + "' (known: " + known + "; any resnetN with N = 6n+2)");
}

}  // namespace rkhs::nn
