#pragma once
// Internal to src/spectral: 2x2 max-pooling with stride 2 (floor) as the maximum of four strided views, then ReLU
// (they commute). About four times faster than max_pool2d on wide NCHW tensors on the CPU; differentiable.
#include <torch/torch.h>

namespace rkhs::spectral {

inline at::Tensor pool_relu(const at::Tensor& h) {
  const int64_t ho = 2 * (h.size(2) / 2), wo = 2 * (h.size(3) / 2);
  auto at = [&](int64_t i, int64_t j) { return h.slice(2, i, ho, 2).slice(3, j, wo, 2); };
  return torch::relu(torch::max(torch::max(at(0, 0), at(0, 1)), torch::max(at(1, 0), at(1, 1))));
}

}  // namespace rkhs::spectral
