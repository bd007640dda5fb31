#include "rkhs/ckn/layer.h"

#include <torch/torch.h>

#include "rkhs/ckn/inverse_sqrt.h"
#include "rkhs/error.h"

namespace rkhs::ckn {

namespace F = torch::nn::functional;

at::Tensor kappa(const at::Tensor& t, const LayerOptions& o) {
  if (o.kernel == "exp") return ((t - 1) / (o.sigma * o.sigma)).exp();
  return t.square();  // "poly2"
}

at::Tensor pooling_weights_1d(int64_t s) {
  RKHS_CHECK(s >= 1, "CKN pooling: subsampling must be >= 1");
  auto u = torch::arange(-s, s + 1, torch::kFloat64);
  auto w = (-(u * u) / double(s * s)).exp();
  return w / w.sum();
}

CKNLayerImpl::CKNLayerImpl(LayerOptions o) : options(std::move(o)) {
  RKHS_CHECK(options.in_channels >= 1 && options.filters >= 1, "CKN layer: channels and filters must be >= 1");
  RKHS_CHECK(options.patch >= 1 && options.patch % 2 == 1,
             "CKN layer: the patch size must be odd (SAME padding), got " + std::to_string(options.patch));
  RKHS_CHECK(options.subsample >= 1, "CKN layer: subsampling must be >= 1, got " + std::to_string(options.subsample));
  RKHS_CHECK(options.kernel == "exp" || options.kernel == "poly2",
             "CKN layer: kernel must be exp or poly2, got '" + options.kernel + "'");
  RKHS_CHECK(options.kernel != "exp" || options.sigma > 0, "CKN layer: sigma must be positive");
  reset();
}

void CKNLayerImpl::reset() {
  const int64_t d = options.in_channels * options.patch * options.patch;
  filters = register_parameter("filters", torch::randn({options.filters, d}));
  normalize_filters();
}

void CKNLayerImpl::normalize_filters() {
  torch::NoGradGuard g;
  filters.div_(filters.norm(2, 1, true).clamp_min(1e-12));
  cached_map_ = at::Tensor();
}

void CKNLayerImpl::set_filters(const at::Tensor& z) {
  RKHS_CHECK(z.dim() == 2 && z.size(0) == filters.size(0) && z.size(1) == filters.size(1),
             "CKN layer: set_filters expects (" + std::to_string(filters.size(0)) + ", " +
                 std::to_string(filters.size(1)) + ")");
  {
    torch::NoGradGuard g;
    filters.copy_(z);
  }
  normalize_filters();
}

void CKNLayerImpl::train(bool on) {
  torch::nn::Module::train(on);
  cached_map_ = at::Tensor();
}

at::Tensor CKNLayerImpl::nystrom_map() {
  if (!is_training() && cached_map_.defined()) return cached_map_;
  auto k = kappa(filters.mm(filters.t()), options);
  at::Tensor map;
  if (is_training()) {
    map = inverse_sqrt(k, options.eps);
  } else {
    torch::NoGradGuard g;
    map = inverse_sqrt(k.to(torch::kFloat64), options.eps).to(filters.scalar_type());
    cached_map_ = map;
  }
  return map;
}

at::Tensor CKNLayerImpl::responses(const at::Tensor& x) {
  RKHS_CHECK(x.dim() == 4 && x.size(1) == options.in_channels,
             "CKN layer: expected input (B, " + std::to_string(options.in_channels) + ", H, W), got " +
                 std::to_string(x.dim()) + "-D with " + std::to_string(x.dim() >= 2 ? x.size(1) : 0) + " channels");
  const int64_t h = options.patch;
  const int64_t c = options.in_channels;
  auto ones = torch::ones({1, c, h, h}, x.options());
  auto norms = F::conv2d(x.square(), ones, F::Conv2dFuncOptions().padding(h / 2)).clamp_min(1e-6).sqrt();  // (B,1,H,W)
  auto w = filters.view({options.filters, c, h, h});
  auto dots = F::conv2d(x, w, F::Conv2dFuncOptions().padding(h / 2));  // (B, p, H, W)
  if (!torch::GradMode::is_enabled() && options.kernel == "exp") {
    // The same formula in place: no (B, p, H, W) temporaries (feature extraction is memory bound here).
    const double a = 1 / (options.sigma * options.sigma);
    return dots.div_(norms).sub_(1).mul_(a).exp_().mul_(norms);
  }
  return norms * kappa(dots / norms, options);
}

at::Tensor CKNLayerImpl::forward(const at::Tensor& x) {
  auto m = responses(x);
  const int64_t s = options.subsample;
  if (s > 1) {
    auto w1 = pooling_weights_1d(s).to(m.options());
    auto w2 = (w1.unsqueeze(1) * w1.unsqueeze(0)).expand({options.filters, 1, 2 * s + 1, 2 * s + 1}).contiguous();
    m = F::conv2d(m, w2, F::Conv2dFuncOptions().stride(s).padding(s).groups(options.filters));
  }
  // Nystrom map on the channel dimension: out[b, :, i, j] = L m[b, :, i, j], a 1x1 convolution with weight L.
  auto l = nystrom_map();
  return F::conv2d(m, l.view({options.filters, options.filters, 1, 1}));
}

}  // namespace rkhs::ckn
