// The CNN-GP kernel by Monte Carlo (paper 002 §4.2.1, eq. 19): see nngp.h.
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "rkhs/error.h"
#include "rkhs/spectral/nngp.h"
#include "pooling.h"

namespace rkhs::spectral {
namespace {

constexpr int64_t kGroup = 32;   // networks evaluated together (grouped convolutions)
constexpr int64_t kRows = 64;    // images per block (conv1 output: kRows x kGroup x width x H x W floats)

}  // namespace

CNNGPMonteCarloKernel::CNNGPMonteCarloKernel(CNNGPOptions o) : o_(o) {
  RKHS_CHECK(o_.channels >= 1 && o_.height >= 1 && o_.width_px >= 1, "CNN-GP: the image shape must be positive");
  RKHS_CHECK(o_.conv >= 1 && o_.conv % 2 == 1, "CNN-GP: the convolution size must be odd (SAME padding)");
  RKHS_CHECK(o_.width >= 1 && o_.hidden >= 1 && o_.samples >= 1, "CNN-GP: width, hidden units and samples must be >= 1");
  RKHS_CHECK(o_.weight_var > 0 && o_.bias_var >= 0, "CNN-GP: weight variance must be > 0 and bias variance >= 0");
  const int64_t h2 = o_.height / 2 - o_.conv + 1, w2 = o_.width_px / 2 - o_.conv + 1;
  RKHS_CHECK(h2 >= 2 && w2 >= 2, "CNN-GP: images of " + std::to_string(o_.height) + "x" + std::to_string(o_.width_px) +
                                     " are too small for two " + std::to_string(o_.conv) + "x" +
                                     std::to_string(o_.conv) + " convolutions with pooling");
  flat_ = o_.width * (h2 / 2) * (w2 / 2);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o_.seed);
  const int64_t s = o_.samples, c = o_.width, k = o_.conv;
  auto normal = [&](double var, at::IntArrayRef shape) { return at::normal(0, std::sqrt(var), shape, gen); };
  // The draw order (w1, b1, w2, b2, w3, b3, w4, b4) fixes the networks of a seed.
  weights_ = {normal(o_.weight_var / double(o_.channels * k * k), {s * c, o_.channels, k, k}),
              normal(o_.bias_var, {s * c}),
              normal(o_.weight_var / double(c * k * k), {s * c, c, k, k}),
              normal(o_.bias_var, {s * c}),
              normal(o_.weight_var / double(flat_), {s, flat_, o_.hidden}),
              normal(o_.bias_var, {s, 1, o_.hidden}),
              normal(o_.weight_var / double(o_.hidden), {s, o_.hidden, 1}),
              normal(o_.bias_var, {s, 1, 1})};
}

std::string CNNGPMonteCarloKernel::name() const {
  std::ostringstream s;
  s << "nngp-cnn-mc:image=" << o_.channels << "x" << o_.height << "x" << o_.width_px << ",conv=" << o_.conv
    << ",width=" << o_.width << ",hidden=" << o_.hidden << ",samples=" << o_.samples << ",weight_var=" << o_.weight_var
    << ",bias_var=" << o_.bias_var << ",seed=" << o_.seed;
  return s.str();
}

std::vector<at::Tensor> CNNGPMonteCarloKernel::network(int64_t s) const {
  RKHS_CHECK(s >= 0 && s < o_.samples, "CNN-GP: no network " + std::to_string(s));
  const int64_t c = o_.width;
  const auto &w1_ = weights_[0], &b1_ = weights_[1], &w2_ = weights_[2], &b2_ = weights_[3];
  const auto &w3_ = weights_[4], &b3_ = weights_[5], &w4_ = weights_[6], &b4_ = weights_[7];
  return {w1_.slice(0, s * c, (s + 1) * c), b1_.slice(0, s * c, (s + 1) * c),
          w2_.slice(0, s * c, (s + 1) * c), b2_.slice(0, s * c, (s + 1) * c),
          w3_[s].t(),                       b3_[s].reshape({-1}),
          w4_[s].t(),                       b4_[s].reshape({-1})};
}

at::Tensor CNNGPMonteCarloKernel::features(const at::Tensor& x) const {
  const int64_t pixels = o_.channels * o_.height * o_.width_px;
  RKHS_CHECK(x.dim() >= 2 && x.numel() == x.size(0) * pixels,
             "CNN-GP kernel: expected images of " + std::to_string(o_.channels) + "x" + std::to_string(o_.height) + "x" +
                 std::to_string(o_.width_px) + " (flattened or not)");
  torch::NoGradGuard g;
  const int64_t n = x.size(0), c = o_.width;
  auto images = x.reshape({n, o_.channels, o_.height, o_.width_px}).to(torch::kFloat32).contiguous();
  auto out = torch::empty({n, o_.samples}, images.options());
  const auto& w = weights_on(images);
  const auto &w1_ = w[0], &b1_ = w[1], &w2_ = w[2], &b2_ = w[3], &w3_ = w[4], &b3_ = w[5], &w4_ = w[6], &b4_ = w[7];
  for (int64_t s0 = 0; s0 < o_.samples; s0 += kGroup) {
    const int64_t s1 = std::min(o_.samples, s0 + kGroup), groups = s1 - s0;
    auto w1 = w1_.slice(0, s0 * c, s1 * c), b1 = b1_.slice(0, s0 * c, s1 * c);
    auto w2 = w2_.slice(0, s0 * c, s1 * c), b2 = b2_.slice(0, s0 * c, s1 * c);
    auto w3 = w3_.slice(0, s0, s1), b3 = b3_.slice(0, s0, s1), w4 = w4_.slice(0, s0, s1), b4 = b4_.slice(0, s0, s1);
    for (int64_t i = 0; i < n; i += kRows) {
      auto xb = images.slice(0, i, std::min(n, i + kRows));
      // All networks of the group see the same images: one convolution with groups x width output channels.
      auto h = pool_relu(torch::conv2d(xb, w1, b1, 1, o_.conv / 2));
      h = pool_relu(torch::conv2d(h, w2, b2, at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, groups));  // (b, groups * width, h, w)
      auto z = h.reshape({xb.size(0), groups, flat_}).transpose(0, 1);                 // (groups, b, F)
      z = torch::baddbmm(b3, z, w3).relu_();
      z = torch::baddbmm(b4, z, w4);                                                   // (groups, b, 1)
      out.slice(0, i, i + xb.size(0)).slice(1, s0, s1).copy_(z.squeeze(2).t());
    }
  }
  return out;
}

}  // namespace rkhs::spectral
