// kernelNet layers (paper 004 eq. 14-17).
#include "rkhs/kernelnet/layers.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::kernelnet {

namespace {

void check(const LayerOptions& o, const char* what) {
  RKHS_CHECK(o.in > 0 && o.out > 0, std::string(what) + ": in and out must be > 0, got " + std::to_string(o.in) +
                                        " and " + std::to_string(o.out));
  RKHS_CHECK(o.lambda2 >= 0 && std::isfinite(o.lambda2), std::string(what) + ": lambda2 must be finite and >= 0");
  RKHS_CHECK(o.lambda_s >= 0 && std::isfinite(o.lambda_s), std::string(what) + ": lambda_s must be finite and >= 0");
  RKHS_CHECK(o.dim > 0, std::string(what) + ": the location dimension d must be > 0, got " + std::to_string(o.dim));
  RKHS_CHECK(o.sparsity_penalty == "squared" || o.sparsity_penalty == "linear",
             std::string(what) + ": sparsity penalty must be squared or linear, got '" + o.sparsity_penalty + "'");
}

at::Tensor glorot_uniform(int64_t fan_out, int64_t fan_in, at::IntArrayRef shape) {
  const double limit = std::sqrt(6.0 / double(fan_in + fan_out));
  return torch::empty(shape).uniform_(-limit, limit);
}

// TensorFlow's truncated normal: N(0, std^2) redrawn outside two standard deviations.
at::Tensor truncated_normal(at::IntArrayRef shape, double std) {
  auto t = torch::randn(shape);
  for (;;) {
    auto bad = t.abs() > 2;
    if (!bad.any().item<bool>()) break;
    t = torch::where(bad, torch::randn(shape), t);
  }
  return t * std;
}

}  // namespace

at::Tensor LayerImpl::forward(const at::Tensor& x) { return torch::addmm(bias, x, weight().t()); }

int64_t LayerImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

int64_t LayerImpl::nonzero_weights() const { return weight().numel(); }

DenseLayerImpl::DenseLayerImpl(const LayerOptions& o) : LayerImpl(o) {
  check(o, "dense layer");
  w = register_parameter("w", glorot_uniform(o.out, o.in, {o.out, o.in}));
  bias = register_parameter("b", glorot_uniform(o.out, o.out, {o.out}));
}

at::Tensor DenseLayerImpl::penalty() const { return 0.5 * options.lambda2 * w.square().sum(); }

at::Tensor grid_locations(int64_t g) {
  RKHS_CHECK(g >= 2, "a location grid needs g >= 2, got " + std::to_string(g));
  auto t = torch::linspace(0, 1, g);
  auto gy = t.repeat_interleave(g), gx = t.repeat({g});
  return torch::stack({gx, gy}, 1);
}

KernelLinearImpl::KernelLinearImpl(const LayerOptions& o) : LayerImpl(o), kernel(kernels::make_kernel(o.kernel)) {
  check(o, "kernel layer");
  if (o.grid_outputs) {
    const auto g = static_cast<int64_t>(std::llround(std::sqrt(double(o.out))));
    RKHS_CHECK(o.dim == 2 && g * g == o.out,
               "kernel layer on a grid: needs d = 2 and a square number of outputs, got d = " + std::to_string(o.dim) +
                   ", " + std::to_string(o.out) + " outputs");
    u = register_buffer("u", grid_locations(g));
    v = register_parameter("v", torch::rand({o.in, 2}));
  } else {
    const double s = std::pow(double(o.dim), -0.25);
    u = register_parameter("u", torch::randn({o.out, o.dim}) * s);
    v = register_parameter("v", torch::randn({o.in, o.dim}) * s);
  }
  alpha = register_parameter("alpha", torch::full({o.out}, std::sqrt(2.0 / double(o.in + o.out))));
  bias = register_parameter("b", glorot_uniform(o.out, o.out, {o.out}));
}

at::Tensor kernel_weight(const kernels::Kernel& kernel, const at::Tensor& u, const at::Tensor& v,
                         const at::Tensor& alpha) {
  RKHS_CHECK(u.dim() == 2 && v.dim() == 2 && u.size(1) == v.size(1),
             "kernel weight: u (out, d) and v (in, d) must be matrices with the same d");
  RKHS_CHECK(alpha.dim() == 1 && alpha.size(0) == u.size(0), "kernel weight: alpha must be (out,) = (" +
                                                                  std::to_string(u.size(0)) + ",)");
  return alpha.unsqueeze(1) * kernel.gram(u, v);
}

at::Tensor KernelLinearImpl::weight() const { return kernel_weight(*kernel, u, v, alpha); }

at::Tensor KernelLinearImpl::penalty() const { return 0.5 * options.lambda2 * weight().square().sum(); }

SparseKernelLinearImpl::SparseKernelLinearImpl(const LayerOptions& o)
    : LayerImpl(o), kernel(kernels::make_kernel("finite")) {
  check(o, "sparse kernel layer");
  a = register_parameter("a", glorot_uniform(o.out, o.in, {o.out, o.in}));
  u = register_parameter("u", truncated_normal({o.out, o.dim}, 1e-3));
  v = register_parameter("v", truncated_normal({o.in, o.dim}, 1e-3));
  bias = register_parameter("b", glorot_uniform(o.out, o.out, {o.out}));
}

at::Tensor SparseKernelLinearImpl::kernel_matrix() const { return kernel->gram(u, v); }

at::Tensor SparseKernelLinearImpl::weight() const { return a * kernel_matrix(); }

int64_t SparseKernelLinearImpl::nonzero_weights() const {
  torch::NoGradGuard no_grad;
  return kernel_matrix().gt(0).sum().item<int64_t>();
}

at::Tensor SparseKernelLinearImpl::penalty() const {
  auto k = kernel_matrix();
  auto sparsity = options.sparsity_penalty == "squared" ? 0.5 * options.lambda_s * k.square().sum()
                                                        : options.lambda_s * k.sum();
  return 0.5 * options.lambda2 * a.square().sum() + sparsity;
}

Layer make_layer(const std::string& kind, const LayerOptions& o) {
  if (kind == "dense") return std::make_shared<DenseLayerImpl>(o);
  if (kind == "kernel") return std::make_shared<KernelLinearImpl>(o);
  if (kind == "sparse") return std::make_shared<SparseKernelLinearImpl>(o);
  throw Error("unknown kernelNet layer '" + kind + "' (dense, kernel, sparse)");
}

}  // namespace rkhs::kernelnet
