#pragma once
// One convolutional kernel network layer (paper 003 §2-3; Mairal 2016 §3; REFERENCE.md §4). On x (B, C, H, W),
// with p unit-norm filters Z (p, C h h) and patches x_u (C h h, SAME padding):
//   1. patch norms        n_u = sqrt(max(||x_u||^2, 1e-6))
//   2. responses          M_u = n_u kappa(<Z, x_u> / n_u),  kappa(t) = exp((t - 1) / sigma^2)   ("exp"),
//                         or kappa(t) = t^2 ("poly2", for 1x1 patches)
//   3. pooling            Gaussian filter of size 2s + 1, weights prop. to exp(-u^2 / s^2), summing to 1, stride s,
//                         padding s: output size ceil(H / s) (no pooling for s = 1)
//   4. Nystrom map        multiply every location by L = kappa(Z Z^T)^{-1/2} (inverse_sqrt, cached in eval mode)
// Output (B, p, ceil(H / s), ceil(W / s)).
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace rkhs::ckn {

struct LayerOptions {
  int64_t in_channels = 1;
  int64_t filters = 64;     // p
  int64_t patch = 3;        // h (odd)
  int64_t subsample = 2;    // s
  double sigma = 0.6;       // kappa's bandwidth ("exp")
  std::string kernel = "exp";  // "exp" | "poly2"
  double eps = 1e-2;        // regularisation of the inverse square root (s_i = sqrt(e_i) + eps)
};

// kappa(t) of the options (elementwise).
at::Tensor kappa(const at::Tensor& t, const LayerOptions& o);
// The normalised Gaussian pooling weights of subsampling s: (2s + 1,), symmetric, summing to 1.
at::Tensor pooling_weights_1d(int64_t s);

class CKNLayerImpl : public torch::nn::Cloneable<CKNLayerImpl> {
 public:
  explicit CKNLayerImpl(LayerOptions options);
  void reset() override;
  // x (B, C, H, W) -> (B, p, ceil(H / s), ceil(W / s)).
  at::Tensor forward(const at::Tensor& x);
  // Steps 1-2 only: (B, p, H, W).
  at::Tensor responses(const at::Tensor& x);
  // L = kappa(Z Z^T)^{-1/2} (p, p); in eval mode the cached value (recomputed after set_filters / train()).
  at::Tensor nystrom_map();
  // Replaces the filters (rows normalised to unit norm) and drops the cache.
  void set_filters(const at::Tensor& z);
  // Projects the filters back onto the unit sphere (after an optimiser step) and drops the cache.
  void normalize_filters();
  void train(bool on = true) override;
  int64_t output_size(int64_t input) const { return (input + options.subsample - 1) / options.subsample; }

  LayerOptions options;
  at::Tensor filters;  // (p, C h h), parameter
 private:
  at::Tensor cached_map_;
};
TORCH_MODULE(CKNLayer);

}  // namespace rkhs::ckn
