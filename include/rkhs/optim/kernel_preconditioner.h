#pragma once
// The H^-1 of Kernel SGD (paper 001, Algorithm 1 lines 4-5): the inverse of the m x m kernel matrix of a
// mini-batch's inputs, computed in float64, with a pseudo-inverse (and a warning) when H is singular.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rkhs::optim {

struct InverseInfo {
  bool pseudo = false;   // some eigenvalues were below the rank threshold and were dropped
  int64_t rank = 0;      // eigenvalues kept
  double min_eigenvalue = 0, max_eigenvalue = 0;  // of H + damping I
};

// Inverse of a symmetric positive semi-definite (m, m) matrix h + damping I, computed in float64 by a symmetric
// eigendecomposition. Eigenvalues <= max(|lambda|) * m * DBL_EPSILON (the numerical-rank threshold of
// numpy/torch matrix_rank) are treated as zero: the result is then the Moore-Penrose pseudo-inverse and
// info->pseudo is set. Returns float64 on h's device; never NaN for finite h. Throws rkhs::Error for a
// non-square or non-finite h or a negative damping. Differentiable in h (first order): the derivative of the
// pseudo-inverse at constant rank, exact where the kept rank does not change (always where H + damping I is
// nonsingular) and finite at repeated eigenvalues.
at::Tensor psd_inverse(const at::Tensor& h, double damping = 0, InverseInfo* info = nullptr);

struct PreconditionerOptions {
  // Kernel spec for make_kernel ("rbf:gamma=0.01", "linear", "polynomial:degree=2", ...), or "random-psd":
  // H = A A^T / m with A an m x m standard normal matrix drawn per batch (the paper's §4.5 control, which
  // ignores the data).
  std::string kernel = "rbf:gamma=0.01";
  double damping = 0;  // H + damping I before inverting (0 = the paper's plain inverse)
  uint64_t seed = 0;   // random-psd: batch b uses seed ^ b
};

class KernelPreconditioner {
 public:
  explicit KernelPreconditioner(PreconditionerOptions options);

  // H^-1 (m, m) for the batch inputs xb (m, ...), flattened to (m, D); float64 on xb's device. `batch_id` seeds
  // random-psd. Counts pseudo-inverses and warns (through rkhs::warn) the first time one is needed.
  at::Tensor inverse(const at::Tensor& xb, int64_t batch_id);

  // Fixed batch partition (paper §3.2: "the whole kernel matrix for all the mini-batches is an n x m matrix"):
  // computes the inverses of all batches once, cast to `dtype`, and keeps them. `batches[b]` lists the sample
  // indices of batch b in x. Does nothing when the cache already holds the inverses of the same batches of the same
  // x (same storage and shape), dtype and device: the candidates of a rate search share one preconditioner.
  void precompute(const at::Tensor& x, const std::vector<std::vector<int64_t>>& batches, c10::ScalarType dtype,
                  c10::Device device);
  const at::Tensor& cached(int64_t batch_id) const;
  bool has_cache() const { return !cache_.empty(); }

  const PreconditionerOptions& options() const { return options_; }
  int64_t inverses_computed() const { return computed_; }
  int64_t pseudo_inverses() const { return pseudo_; }
  // Bytes of the stored inverses (the paper's "Hessian" memory column): the cache, or the last inverse when
  // nothing is cached.
  int64_t bytes() const;
  double seconds() const { return seconds_; }  // time spent building kernel matrices and inverting them

 private:
  PreconditionerOptions options_;
  std::shared_ptr<void> kernel_;  // kernels::Kernel, kept opaque to keep this header light
  std::vector<at::Tensor> cache_;
  struct CacheKey {
    const void* data = nullptr;
    std::vector<int64_t> sizes;
    std::vector<std::vector<int64_t>> batches;
    int dtype = -1;
    std::string device;
    bool operator==(const CacheKey& o) const {
      return data == o.data && sizes == o.sizes && batches == o.batches && dtype == o.dtype && device == o.device;
    }
  } cache_key_;  // what cache_ was computed from
  int64_t last_bytes_ = 0;
  int64_t computed_ = 0, pseudo_ = 0;
  double seconds_ = 0;
};

}  // namespace rkhs::optim
