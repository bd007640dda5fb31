#include "rkhs/optim/kernel_preconditioner.h"

#include <torch/torch.h>

#include <chrono>
#include <cfloat>
#include <cmath>

#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/warn.h"

namespace rkhs::optim {

namespace {

// The value of psd_inverse: (A, Y) with A = sym(h) + damping I in float64 and Y = A^+ (eigenvalues at or below the
// numerical-rank threshold dropped).
std::pair<at::Tensor, at::Tensor> psd_inverse_value(const at::Tensor& h, double damping, InverseInfo* info) {
  RKHS_CHECK(h.dim() == 2 && h.size(0) == h.size(1), "psd_inverse: expected a square matrix, got " +
                                                          std::to_string(h.dim()) + " dimensions");
  RKHS_CHECK(damping >= 0 && std::isfinite(damping), "psd_inverse: damping must be finite and >= 0");
  const int64_t m = h.size(0);
  auto a = h.detach().to(torch::kFloat64);
  RKHS_CHECK(torch::isfinite(a).all().item<bool>(), "psd_inverse: the kernel matrix has NaN or Inf entries");
  a = 0.5 * (a + a.t());  // symmetrise away rounding
  if (damping > 0) a = a + damping * torch::eye(m, a.options());
  auto [values, vectors] = compat::eigh(a);
  const double top = values.abs().max().item<double>();
  const double threshold = top * static_cast<double>(m) * DBL_EPSILON;
  auto keep = values > threshold;
  const int64_t rank = keep.sum().item<int64_t>();
  auto inv_values = torch::where(keep, 1.0 / torch::where(keep, values, torch::ones_like(values)), torch::zeros_like(values));
  if (info != nullptr) {
    info->rank = rank;
    info->pseudo = rank < m;
    info->min_eigenvalue = m > 0 ? values[0].item<double>() : 0;
    info->max_eigenvalue = m > 0 ? values[m - 1].item<double>() : 0;
  }
  return {a, torch::mm(vectors * inv_values.unsqueeze(0), vectors.t())};
}

// psd_inverse with its own backward: the derivative of the pseudo-inverse at constant rank (Golub & Pereyra 1973),
// for symmetric A with P = A Y the projector onto its range,
//   dY = -Y dA Y + Y^2 dA (I - P) + (I - P) dA Y^2,
// so dL/dA = -Y G Y + Y^2 G (I - P) + (I - P) G Y^2 (G = dL/dY; the last two vanish when A is nonsingular), and
// dL/dh = sym(dL/dA) since A = sym(h) + damping I. It needs no eigenvector derivative, so it is finite where eigh's
// backward is not (repeated eigenvalues, e.g. h = I).
struct PsdInverse : public torch::autograd::Function<PsdInverse> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& h, double damping,
                            InverseInfo* info) {
    auto [a, y] = psd_inverse_value(h, damping, info);
    ctx->save_for_backward({a, y});
    ctx->saved_data["dtype"] = static_cast<int64_t>(h.scalar_type());
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& a = saved[0];
    const auto& y = saved[1];
    const auto g = grads[0].to(torch::kFloat64);
    const auto y2 = torch::mm(y, y);
    const auto outside = torch::eye(a.size(0), a.options()) - torch::mm(a, y);  // I - P
    auto ga = -torch::mm(torch::mm(y, g), y) + torch::mm(torch::mm(y2, g), outside) +
              torch::mm(torch::mm(outside, g), y2);
    const auto dtype = static_cast<c10::ScalarType>(ctx->saved_data["dtype"].toInt());
    return {(0.5 * (ga + ga.t())).to(dtype), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor psd_inverse(const at::Tensor& h, double damping, InverseInfo* info) {
  return PsdInverse::apply(h, damping, info);
}

namespace {

const kernels::Kernel* as_kernel(const std::shared_ptr<void>& k) { return static_cast<const kernels::Kernel*>(k.get()); }

}  // namespace

KernelPreconditioner::KernelPreconditioner(PreconditionerOptions options) : options_(std::move(options)) {
  RKHS_CHECK(options_.damping >= 0 && std::isfinite(options_.damping),
             "Kernel SGD: damping must be finite and >= 0, got " + std::to_string(options_.damping));
  if (options_.kernel != "random-psd") {
    auto k = kernels::make_kernel(options_.kernel);
    kernel_ = std::shared_ptr<void>(k, k.get());
  }
}

at::Tensor KernelPreconditioner::inverse(const at::Tensor& xb, int64_t batch_id) {
  RKHS_CHECK(xb.dim() >= 1 && xb.size(0) > 0, "Kernel SGD: empty mini-batch");
  const auto t0 = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  const int64_t m = xb.size(0);
  at::Tensor h;
  if (kernel_) {
    auto x = xb.reshape({m, -1}).to(torch::kFloat64);
    h = as_kernel(kernel_)->gram(x, x);
  } else {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options_.seed ^ static_cast<uint64_t>(batch_id));
    auto a = at::randn({m, m}, gen, torch::TensorOptions().dtype(torch::kFloat64));
    h = torch::mm(a, a.t()).div(static_cast<double>(m)).to(xb.device());
  }
  InverseInfo info;
  auto inv = psd_inverse(h, options_.damping, &info);
  ++computed_;
  if (info.pseudo) {
    if (pseudo_ == 0)
      warn("Kernel SGD: the " + std::to_string(m) + "x" + std::to_string(m) + " kernel matrix (" + options_.kernel +
           ") of batch " + std::to_string(batch_id) + " is singular (rank " + std::to_string(info.rank) +
           "); using its pseudo-inverse (later singular batches are counted, not reported)");
    ++pseudo_;
  }
  last_bytes_ = static_cast<int64_t>(inv.numel() * inv.element_size());
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return inv;
}

void KernelPreconditioner::precompute(const at::Tensor& x, const std::vector<std::vector<int64_t>>& batches,
                                      c10::ScalarType dtype, c10::Device device) {
  CacheKey key{x.data_ptr(), x.sizes().vec(), batches, static_cast<int>(dtype), device.str()};
  if (!cache_.empty() && key == cache_key_) return;
  cache_.clear();
  cache_key_ = std::move(key);
  cache_.reserve(batches.size());
  for (size_t b = 0; b < batches.size(); ++b) {
    auto idx = torch::tensor(batches[b], torch::kLong);
    auto xb = x.index_select(0, idx.to(x.device())).to(device);
    cache_.push_back(inverse(xb, static_cast<int64_t>(b)).to(dtype));
  }
}

const at::Tensor& KernelPreconditioner::cached(int64_t batch_id) const {
  RKHS_CHECK(batch_id >= 0 && batch_id < static_cast<int64_t>(cache_.size()),
             "Kernel SGD: no precomputed inverse for batch " + std::to_string(batch_id));
  return cache_[static_cast<size_t>(batch_id)];
}

int64_t KernelPreconditioner::bytes() const {
  if (cache_.empty()) return last_bytes_;
  int64_t total = 0;
  for (const auto& t : cache_) total += static_cast<int64_t>(t.numel() * t.element_size());
  return total;
}

}  // namespace rkhs::optim
