// The kernelNet image classifier of paper 004 §3.2 (Figure 4, Table 1); see rkhs/nn/kernelnet_grid.h.
#include "rkhs/nn/kernelnet_grid.h"

#include <torch/torch.h>

#include <cmath>
#include <algorithm>

#include "rkhs/error.h"
#include "rkhs/nn/backbones.h"

namespace rkhs::nn {

namespace {

// g x g locations on [0, 1]^2, row-major (the pixel order of a flattened image): (g^2, 2) as (x, y).
torch::Tensor grid(int64_t g) {
  auto t = torch::linspace(0, 1, g);
  return torch::stack({t.repeat({g}), t.repeat_interleave(g)}, 1);
}

// ||u[o]_i - v[c]_j||^2 for u (O, n_out, 2) and v (C, n_in, 2) -> (O, C, n_out, n_in); computed from the
// differences (not |u|^2 + |v|^2 - 2 u.v), so it is exact and >= 0 and its gradient is finite at u = v.
torch::Tensor squared_distances(const torch::Tensor& u, const torch::Tensor& v) {
  auto d = u.unsqueeze(1).unsqueeze(3) - v.unsqueeze(0).unsqueeze(2);  // (O, C, n_out, n_in, 2)
  return d.square().sum(-1);
}

}  // namespace

std::vector<GridLayerSpec> parse_grid_layers(const std::string& spec) {
  std::vector<GridLayerSpec> out;
  for (size_t start = 0; start <= spec.size();) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    start = comma + 1;
    const auto x = item.find('x');
    GridLayerSpec s;
    size_t used_maps = 0, used_side = 0;
    try {
      RKHS_CHECK(x != std::string::npos, "");
      s.maps = std::stoll(item.substr(0, x), &used_maps);
      s.side = std::stoll(item.substr(x + 1), &used_side);
    } catch (const std::exception&) {
      throw Error("grid layers: '" + item + "' is not MAPSxSIDE (e.g. 16x14) in '" + spec + "'");
    }
    RKHS_CHECK(used_maps == x && used_side == item.size() - x - 1 && s.maps > 0 && s.side >= 2 && s.maps <= 4096 &&
                   s.side <= 512,
               "grid layers: '" + item + "' must be MAPSxSIDE with 1 <= MAPS <= 4096 and 2 <= SIDE <= 512 (in '" +
                   spec + "')");
    out.push_back(s);
  }
  RKHS_CHECK(!out.empty(), "grid layers: empty spec (e.g. 16x14,16x7)");
  return out;
}

GridKernelLayerImpl::GridKernelLayerImpl(int64_t in_maps, int64_t in_units, int64_t out_maps, int64_t out_units,
                                         double input_spacing)
    : in_maps_(in_maps), in_units_(in_units), out_maps_(out_maps), out_units_(out_units) {
  // sigma log-uniform in [1, 3] input spacings; gamma = 1 / (2 sigma^2).
  auto sigma = input_spacing * torch::exp(torch::rand({out_maps, in_maps}) * std::log(3.0));
  log_gamma = register_parameter("log_gamma", (0.5 / sigma.square()).log());
  alpha = register_parameter("alpha", torch::zeros({out_maps, in_maps, out_units}));
  bias = register_parameter("bias", torch::zeros({out_maps, out_units}));
}

torch::Tensor GridKernelLayerImpl::weights(const torch::Tensor& u, const torch::Tensor& v) const {
  auto k = torch::exp(-log_gamma.exp().view({out_maps_, in_maps_, 1, 1}) * squared_distances(u, v));
  return alpha.unsqueeze(-1) * k;
}

torch::Tensor GridKernelLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& u,
                                           const torch::Tensor& v) const {
  // (O, C, n_out, n_in) -> (O n_out, C n_in): one matrix product for all pairs.
  auto w = weights(u, v).permute({0, 2, 1, 3}).reshape({out_maps_ * out_units_, in_maps_ * in_units_});
  auto y = torch::addmm(bias.reshape({-1}), x.reshape({x.size(0), -1}), w.t());
  return y.view({x.size(0), out_maps_, out_units_});
}

void GridKernelLayerImpl::init_alpha(const torch::Tensor& u, const torch::Tensor& v) {
  torch::NoGradGuard no_grad;
  auto k = torch::exp(-log_gamma.exp().view({out_maps_, in_maps_, 1, 1}) * squared_distances(u, v));
  // Var(y_i) = sum_c alpha_{c,i}^2 sum_j K_ij^2 Var(x): 2 / (C sum_j K_ij^2) per pair gives He's 2 Var(x).
  auto energy = k.square().sum(-1).clamp_min(1e-12);  // (O, C, n_out)
  alpha.copy_(torch::randn(alpha.sizes()) * (2.0 / (double(in_maps_) * energy)).sqrt());
}

KernelNetGridBackboneImpl::KernelNetGridBackboneImpl(std::vector<int64_t> input_shape,
                                                     std::vector<GridLayerSpec> layers, const std::string& locations)
    : input_shape_(std::move(input_shape)), specs_(std::move(layers)), locations_(locations) {
  RKHS_CHECK(input_shape_.size() == 3 && input_shape_[1] == input_shape_[2] && input_shape_[1] >= 2,
             "kernelnet backbone: input must be C x H x W with square images (H = W >= 2), got " +
                 shape_string(input_shape_));
  RKHS_CHECK(locations_ == "grid" || locations_ == "random",
             "kernelnet backbone: locations must be grid or random, got '" + locations_ + "'");
  RKHS_CHECK(!specs_.empty(), "kernelnet backbone: needs at least one grid layer");
  const bool fixed = locations_ == "grid";
  // Level 0: the pixels of every input channel; level l: layer l's output maps.
  std::vector<std::pair<int64_t, int64_t>> levels = {{input_shape_[0], input_shape_[1]}};
  for (const auto& s : specs_) levels.emplace_back(s.maps, s.side);
  for (size_t l = 0; l < levels.size(); ++l) {
    const auto [maps, side] = levels[l];
    const std::string name = "locations" + std::to_string(l);
    auto loc = fixed ? grid(side).unsqueeze(0).repeat({maps, 1, 1}) : torch::rand({maps, side * side, 2});
    locations_by_level_.push_back(fixed ? register_buffer(name, loc) : register_parameter(name, loc));
  }
  for (size_t l = 0; l < specs_.size(); ++l) {
    const auto [in_maps, in_side] = levels[l];
    const auto [out_maps, out_side] = levels[l + 1];
    auto layer = register_module("layer" + std::to_string(l + 1),
                                 GridKernelLayer(in_maps, in_side * in_side, out_maps, out_side * out_side,
                                                 1.0 / double(in_side - 1)));
    layer->init_alpha(locations_by_level_[l + 1], locations_by_level_[l]);
    layers_.push_back(layer);
  }
}

torch::Tensor KernelNetGridBackboneImpl::forward(const torch::Tensor& x) {
  check_input_shape(x, input_shape_, "kernelnet-" + locations_ + " backbone");
  auto h = x.reshape({x.size(0), input_shape_[0], -1});
  for (size_t l = 0; l < layers_.size(); ++l)
    h = torch::relu(layers_[l]->forward(h, locations_by_level_[l + 1], locations_by_level_[l]));
  return h.reshape({x.size(0), -1});
}

int64_t KernelNetGridBackboneImpl::output_dim() const {
  return specs_.back().maps * specs_.back().side * specs_.back().side;
}

}  // namespace rkhs::nn
