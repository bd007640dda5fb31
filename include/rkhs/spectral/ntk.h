#pragma once
// The empirical neural tangent kernel of a scalar network output g(x, theta) (paper 002 §3.3, eq. 20):
//   K(x, x') = J(x) J(x')^T,  J(x) = d g(x, theta) / d theta  (1 x P),
// given as features Phi (n, F) with K = Phi Phi^T:
//   finite differences (eq. 20)  column s = (g(X, theta + eps v_s) - g(X, theta)) / (eps sqrt(S)), v_s Rademacher
//                                (E[v v^T] = I, so E[Phi Phi^T] = J J^T), S + 1 forward passes, no Jacobian;
//   exact Jacobians              Phi = J (F = P), one backward pass per example (small networks and sets).
// Networks with BatchNorm must have it folded into the preceding layer first (evaluation mode).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rkhs/spectral/nngp.h"

namespace rkhs::spectral {

struct NTKOptions {
  std::string method = "finite-differences";  // | "jacobian"
  int64_t samples = 4000;  // S, finite differences
  double epsilon = 1e-5;   // finite-difference step (in the parameters' dtype: use float64 parameters)
  uint64_t seed = 0;       // Rademacher directions
  int64_t batch = 512;     // rows per forward pass
};

// g maps a batch (b, ...) to its scalar outputs (b,) using `parameters` (whose values are perturbed in place
// and restored exactly). Returns Phi (n, F) in the parameters' dtype.
at::Tensor ntk_features(const std::function<at::Tensor(const at::Tensor&)>& g, const std::vector<at::Tensor>& parameters,
                        const at::Tensor& x, const NTKOptions& options);

// The empirical NTK as a kernel of the registry interface (inputs flattened or not, as g takes them), rescaled so
// that its mean diagonal on the points given to normalise_on() is 1 (REFERENCE.md §3). Features are already scaled
// (samples() is 1: K = Phi Phi^T); the features of the last normalise_on() points are cached.
class NTKKernel : public MonteCarloKernel {
 public:
  NTKKernel(std::function<at::Tensor(const at::Tensor&)> g, std::vector<at::Tensor> parameters, NTKOptions options);
  at::Tensor features(const at::Tensor& x) const override;
  int64_t samples() const override { return 1; }
  std::string name() const override;
  // Sets the scale from (and caches the features of) x: mean_i K(x_i, x_i) = 1 afterwards.
  void normalise_on(const at::Tensor& x);
  double scale() const { return scale_; }

 private:
  std::function<at::Tensor(const at::Tensor&)> g_;
  std::vector<at::Tensor> params_;
  NTKOptions o_;
  double scale_ = 1;
  at::Tensor cached_x_, cached_phi_;
};

}  // namespace rkhs::spectral
