#pragma once
// The baselines of the CKN table (paper 003, issue 5): a linear classifier on the pixels, and an RBF kernel
// machine on the pixels approximated by Nystrom features. Both feed the same cross-validated logistic
// regression as the CKN features, so the table compares feature maps only.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace rkhs::ckn {

// Nystrom feature map of a registry kernel (kernels/kernel.h) with landmarks Z (m, d):
//   phi(x) = k(x, Z) K_ZZ^{-1/2}   (m features; phi(x)^T phi(x') approximates k(x, x'))
// with K_ZZ^{-1/2} regularised as in the CKN layer (inverse_sqrt, eps). Computed in batches without gradient.
class NystromFeatures {
 public:
  NystromFeatures(const std::string& kernel_spec, at::Tensor landmarks, double eps = 1e-2);
  at::Tensor operator()(const at::Tensor& x, int64_t batch_size = 1024) const;  // x (n, d) -> (n, m)
  const std::string& kernel_spec() const { return spec_; }

 private:
  std::string spec_;
  at::Tensor landmarks_, map_;
};

// 1 / median of the squared distances between the rows of x (at most 2000 rows, chosen by the seed): the usual
// bandwidth heuristic gamma for exp(-gamma ||x - x'||^2).
double median_heuristic_gamma(const at::Tensor& x, uint64_t seed);

}  // namespace rkhs::ckn
