#pragma once
// kernelNet's extensible 2-D data embedding (paper 004 §3.3): a network with one 2-D RBF kernelNet layer whose
// output units sit fixed on a g x g grid in [0, 1]^2, followed by the sparsifying nonlinearity of eq. 9; each input
// is placed at the activation-weighted centre of mass of the grid locations (eq. 10). Trained as a classifier
// (categorical cross-entropy on the logits) or as an autoencoder (the outputs reconstruct the input; per-pixel
// cross-entropy on sigmoid outputs, paper Figure 5a).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rkhs/kernelnet/layers.h"

namespace rkhs::kernelnet {

// Eq. 9, row-wise on x (B, n): max(0, x - (eta * max_j x_j + (1 - eta) * mean_j x_j)).
at::Tensor sparsify(const at::Tensor& x, double eta);

// Eq. 10: c = sum_i x_i v_i / sum_i x_i for activations x (B, n) >= 0 and locations v (n, 2). A row whose
// activations are all zero gets the mean location (and is counted by the caller through `empty`, if given).
at::Tensor centre_of_mass(const at::Tensor& x, const at::Tensor& v, int64_t* empty = nullptr);

struct EmbeddingOptions {
  int64_t input_dim = 784;
  std::vector<int64_t> encoder = {512, 512};  // ReLU layers before the kernelNet layer
  int64_t grid = 30;                          // g: g^2 kernelNet units (the paper's 1600 = 40 x 40)
  double sigma = 0;                           // RBF width in grid units of [0, 1]^2 (0: 1.5 grid spacings)
  double eta = 0.5;                           // eq. 9
  std::vector<int64_t> decoder = {512};       // ReLU layers after it
  int64_t classes = 10;
  std::string objective = "classifier";       // "classifier" (classes outputs) | "autoencoder" (input_dim outputs)
};

class EmbeddingNetImpl : public torch::nn::Module {
 public:
  explicit EmbeddingNetImpl(const EmbeddingOptions& o);
  // Logits (B, classes), or for the autoencoder reconstruction logits (B, input_dim) (the reconstruction is their
  // sigmoid); when activations is given it receives the sparsified kernelNet activations (B, g^2).
  at::Tensor forward(const at::Tensor& x, at::Tensor* activations = nullptr);
  // 2-D embedding (B, 2) of x by eq. 10 (eval mode, no gradient); `empty` counts rows without activation.
  at::Tensor embed(const at::Tensor& x, int64_t* empty = nullptr);
  at::Tensor locations() const;  // the fixed output locations (g^2, 2)
  EmbeddingOptions options;

 private:
  std::vector<torch::nn::Linear> encoder_, decoder_;
  std::shared_ptr<KernelLinearImpl> kernel_layer_;
};
TORCH_MODULE(EmbeddingNet);

}  // namespace rkhs::kernelnet
