#pragma once
// Backbones: networks that map an input batch to embeddings z of shape (B, d).
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rkhs::nn {

struct BackboneOptions {
  // "identity" (z = flattened x), "mlp", "lenet5", "resnetN" with N = 6n+2 (resnet8, resnet14, resnet20, ...),
  // "kernelnet-grid" / "kernelnet-random" (paper 004 §3.2: rkhs/nn/kernelnet_grid.h).
  std::string name = "identity";
  // Shape of one input sample: {d} for vectors, {C, H, W} for images (28x28 and 32x32 for the CNNs).
  std::vector<int64_t> input_shape;
  // MLP hidden widths; the last one is the embedding dimension d.
  std::vector<int64_t> hidden = {128, 128};
  // Apply ReLU to the embedding (the usual networks do; the KCL paper removes it, appendix D.4): default off.
  bool final_relu = false;
  // kernelnet-*: the kernelNet layers as MAPSxSIDE, comma separated (maps of side x side units per layer).
  std::string grid_layers = "16x14,16x7";
};

class BackboneImpl : public torch::nn::Module {
 public:
  // x: (B, *input_shape) -> z: (B, output_dim()).
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual int64_t output_dim() const = 0;
};

// Builds a backbone; throws rkhs::Error for an unknown name, an invalid ResNet depth or an input shape the
// network cannot take. Parameters are initialised from the current torch seed.
std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options);

// Names accepted by make_backbone, for --help.
std::vector<std::string> backbone_names();

}  // namespace rkhs::nn
