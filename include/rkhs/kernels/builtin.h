#pragma once
// The built-in kernels, for code that wants to construct one directly instead of through make_kernel().
// Formulas, keys, domains and positive-definiteness: docs/KERNELS.md. Shapes as in kernel.h: gram(X, Y) maps
// (n, d) x (m, d) -> (n, m), diag(X) maps (n, d) -> (n,), in the inputs' dtype and device, with autograd.
// Constructors throw rkhs::Error for out-of-range arguments. All kernels here are fixed (no parameters()).
#include <cstdint>
#include <string>
#include <vector>

#include "rkhs/kernels/kernel.h"

namespace rkhs::kernels {

// k(x, y) = x^T y.
class LinearKernel : public Kernel {
 public:
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }
};

// k(x, y) = (scale x^T y + offset)^degree, degree >= 1. PD when scale >= 0 and offset >= 0.
class PolynomialKernel : public Kernel {
 public:
  explicit PolynomialKernel(int64_t degree = 3, double offset = 1, double scale = 1);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return scale_ >= 0 && offset_ >= 0; }
  int64_t degree() const { return degree_; }
  double offset() const { return offset_; }
  double scale() const { return scale_; }

 private:
  int64_t degree_;
  double offset_, scale_;
};

// k(x, y) = exp(-gamma ||x - y||^2), gamma > 0 (gamma = 1 / (2 sigma^2)).
class RbfKernel : public Kernel {
 public:
  explicit RbfKernel(double gamma = 1);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }
  double gamma() const { return gamma_; }

 private:
  double gamma_;
};

// k(x, y) = exp(-gamma ||x - y||_2), gamma > 0; gradient 0 (a subgradient) at zero distance.
class LaplacianKernel : public Kernel {
 public:
  explicit LaplacianKernel(double gamma = 1);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }
  double gamma() const { return gamma_; }

 private:
  double gamma_;
};

// CKN's kappa on the sphere: k(x, y) = exp((x^T y - 1) / sigma^2), sigma > 0. Meant for unit vectors (where it
// equals exp(-||x - y||^2 / (2 sigma^2))) but positive definite on all of R^d.
class ExpDotKernel : public Kernel {
 public:
  explicit ExpDotKernel(double sigma = 0.6);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }
  bool requires_unit_sphere() const override { return true; }
  double sigma() const { return sigma_; }

 private:
  double sigma_;
};

// Cho & Saul arc-cosine kernel, order 0 (step network) or 1 (ReLU network, the NN-GP kernel of one layer):
// k_n(x, y) = (1/pi) ||x||^n ||y||^n J_n(theta), J_0 = pi - theta, J_1 = sin theta + (pi - theta) cos theta.
class ArcCosKernel : public Kernel {
 public:
  explicit ArcCosKernel(int64_t order = 1);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return true; }
  int64_t order() const { return order_; }

 private:
  int64_t order_;
};

// The sigmoid kernel k(x, y) = tanh(scale x^T y + offset): not positive definite.
class TanhKernel : public Kernel {
 public:
  explicit TanhKernel(double scale = 1, double offset = 0);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return false; }
  double scale() const { return scale_; }
  double offset() const { return offset_; }

 private:
  double scale_, offset_;
};

// kernelNet's finite-support kernel k(u, v) = max(0, 1 - a ||u - v||^2), a > 0: not positive definite
// (a row of points spaced 0.55 / sqrt(a) apart gives a negative eigenvalue). Squared distances are computed
// from the differences (squared_distances_direct), so equal points give exactly 1 and a finite gradient.
class FiniteSupportKernel : public Kernel {
 public:
  explicit FiniteSupportKernel(double a = 1);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return false; }
  double a() const { return a_; }

 private:
  double a_;
};

// KCL's series kernel (series.h, paper 000 eq. 7) on L2-normalised inputs: k(x, y) = series_kernel(<x^, y^>,
// alpha, eps) with alpha = (a_-2, a_-1, a_0, ..., a_M), M + 3 values, all >= 0. Zero rows are mapped to t = 0.
// Positive definiteness: the exact kernel (eps = 0) is PD on the sphere (paper Theorem 4.3), and so is the
// pure power series (a_-2 = a_-1 = 0). With a tolerance eps > 0 the indicator [t >= 1 - eps] is not PD: three
// points u0, u1, u2 along a great circle with <u0,u1>, <u1,u2> >= 1 - eps > <u0,u2> give the indicator Gram
// [[1,1,0],[1,1,1],[0,1,1]] with eigenvalue 1 - sqrt(2). is_positive_definite() reports exactly this, so
// the default (eps = 1e-6, all a = 1) reports false although its Gram matrices are PSD unless distinct
// points come within an angle of about sqrt(2 eps) of each other (or of each other's antipode).
class SeriesKernel : public Kernel {
 public:
  // Default: M = 10, all coefficients 1.
  explicit SeriesKernel(std::vector<double> alpha = std::vector<double>(13, 1.0), double eps = 1e-6);
  at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const override;
  at::Tensor diag(const at::Tensor& x) const override;
  std::string name() const override;
  bool is_positive_definite() const override { return eps_ == 0 || (alpha_[0] == 0 && alpha_[1] == 0); }
  bool requires_unit_sphere() const override { return true; }
  int64_t order() const { return static_cast<int64_t>(alpha_.size()) - 3; }
  const std::vector<double>& alpha() const { return alpha_; }
  double eps() const { return eps_; }

 private:
  std::vector<double> alpha_;
  double eps_;
};

// J_n(theta) as a function of the cosine c (clamped to [-1, 1]): pi - arccos c (n = 0) or
// sin theta + (pi - theta) c (n = 1), with the closed-form derivative that stays finite at c = +-1 for n = 1
// (the arc-cosine kernel's building block, also used by the NN-GP recursion of rkhs/spectral/nngp.h).
at::Tensor arccos_j(const at::Tensor& cosine, int64_t order);

}  // namespace rkhs::kernels
