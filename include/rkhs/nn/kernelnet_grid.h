#pragma once
// The kernelNet image classifier of paper 004 §3.2 (Figure 4, Table 1): layers of 2-D RBF kernelNet connection
// matrices between arrays of units that carry 2-D locations, with or without the prior knowledge of where the
// pixels are.
//
// A layer maps C input maps of n_in units to O output maps of n_out units. Every pair (o, c) of an output map and
// an input map has its own connection matrix (the "array" of Figure 4, like the filters of a convolution):
//   W[o, c]_ij = alpha[o, c]_i * exp(-gamma[o, c] * ||u[o]_i - v[c]_j||^2)                 (paper eq. 14, RBF)
//   y[o]_i     = relu( sum_c sum_j W[o, c]_ij x[c]_j + b[o]_i )
// where u[o] are the locations of output map o and v[c] those of input map c (the output locations of the layer
// below, the pixel locations for the first layer). Learned per pair: the width gamma (as log gamma) and one
// amplitude per output unit (alpha_i of eq. 14); per output unit a bias.
//
// Locations, in [0, 1]^2:
//   "grid"   the prior of Table 1: the input units of every map sit on the image's pixel grid, the units of a
//            layer with side g on a g x g grid; all of them fixed (buffers).
//   "random" the same network without the prior: every map's locations drawn uniformly in [0, 1]^2 and trained.
//
// Initialisation: sigma = 1/sqrt(2 gamma) log-uniform between 1 and 3 spacings of the input grid of the layer
// (the same in both modes, so a unit starts with the same number of inputs in its receptive field), alpha ~ N(0,
// 2 / (C * sum_j K_ij^2)) per unit (He's variance for the unit's actual receptive field), b = 0.
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rkhs/nn/backbone.h"

namespace rkhs::nn {

struct GridLayerSpec {
  int64_t maps = 0;  // O: parallel 2-D grids of units
  int64_t side = 0;  // g: each map has g x g units
};

// "16x14,16x7" -> {{16, 14}, {16, 7}}; throws rkhs::Error on a malformed spec.
std::vector<GridLayerSpec> parse_grid_layers(const std::string& spec);

class GridKernelLayerImpl : public torch::nn::Module {
 public:
  // C = in_maps maps of n_in = in_units inputs to O = out_maps maps of n_out = out_units outputs; input_spacing
  // is the spacing of the input grid (1 / (side - 1)), the unit of the initial widths. The locations are owned by
  // the network (a layer's outputs are the next layer's inputs) and passed to every call.
  GridKernelLayerImpl(int64_t in_maps, int64_t in_units, int64_t out_maps, int64_t out_units, double input_spacing);
  // The connection matrices for the given locations, (O, C, n_out, n_in).
  torch::Tensor weights(const torch::Tensor& u, const torch::Tensor& v) const;
  // x: (B, C, n_in) -> (B, O, n_out), before the ReLU.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& u, const torch::Tensor& v) const;
  // Draws alpha for the given locations (see the header comment).
  void init_alpha(const torch::Tensor& u, const torch::Tensor& v);
  torch::Tensor log_gamma, alpha, bias;

 private:
  int64_t in_maps_, in_units_, out_maps_, out_units_;
};
TORCH_MODULE(GridKernelLayer);

// Input C x H x W (H = W), layers from parse_grid_layers; the embedding is the last layer's units flattened,
// dimension O_L * g_L^2. Every layer has its ReLU (final_relu does not apply: the paper's softmax layer sits on
// the last kernelNet layer's activations).
class KernelNetGridBackboneImpl : public BackboneImpl {
 public:
  KernelNetGridBackboneImpl(std::vector<int64_t> input_shape, std::vector<GridLayerSpec> layers,
                            const std::string& locations);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t output_dim() const override;
  const std::string& locations_mode() const { return locations_; }
  // Locations of the units of level l: 0 = the input pixels (C, H*W, 2), l >= 1 = layer l's output (O, g^2, 2).
  const torch::Tensor& locations(size_t level) const { return locations_by_level_.at(level); }
  const GridKernelLayer& layer(size_t l) const { return layers_.at(l); }
  size_t depth() const { return layers_.size(); }

 private:
  std::vector<int64_t> input_shape_;
  std::vector<GridLayerSpec> specs_;
  std::string locations_;
  std::vector<torch::Tensor> locations_by_level_;
  std::vector<GridKernelLayer> layers_;
};

}  // namespace rkhs::nn
