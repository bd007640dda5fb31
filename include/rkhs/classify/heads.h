#pragma once
// The baseline heads of paper 000 behind make_head(); every one maps z: (B, d) -> logits (B, C).
// Formulas, parameters and defaults are documented in docs/HEADS.md. Notation: x_hat = x / max(||x||, 1e-12)
// (row-wise L2 normalisation), t_j = clamp(<z_hat, w_hat_j>, -1, 1).
#include "rkhs/classify/head.h"
#include "rkhs/classify/kcl.h"

namespace rkhs::classify {

// softmax (paper Table 7), by normalize:
//   none:         logit_j = <w_j, z> + b_j
//   embedding:    logit_j = <w_j, z_hat> + b_j          (the paper's softmax baseline)
//   both-fixed:   logit_j = t_j / T, T = temperature (default 0.1), no bias
//   both-learned: logit_j = s t_j, s = exp(log_scale) learned, init 1/temperature (default 10), no bias (= cosine)
class SoftmaxHeadImpl : public HeadImpl {
 public:
  explicit SoftmaxHeadImpl(const HeadOptions& options);
  torch::Tensor forward(const torch::Tensor& z) override;
  std::string describe() const override;
  // Learned scales/widths (log_scale, log_sigma) are exempt from weight decay: decaying them pulls the
  // logit scale towards 1 (near-uniform softmax), a handicap KCL's coefficients do not have.
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const override;
  torch::Tensor weight, bias, log_scale;  // bias only for none/embedding, log_scale only for both-learned

 private:
  enum class Normalize { none, embedding, both_fixed, both_learned };
  std::string normalize_name_;  // as given (describe)
  Normalize normalize_ = Normalize::none;  // parsed once: forward compares no strings
  double fixed_temperature_ = 1.0;
};

// cosine (LIN): logit_j = s t_j, s = exp(log_scale) learned, init s = 1/temperature (default 10).
class CosineHeadImpl : public HeadImpl {
 public:
  explicit CosineHeadImpl(const HeadOptions& options);
  torch::Tensor forward(const torch::Tensor& z) override;
  std::string describe() const override;
  // Learned scales/widths (log_scale, log_sigma) are exempt from weight decay: decaying them pulls the
  // logit scale towards 1 (near-uniform softmax), a handicap KCL's coefficients do not have.
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const override;
  torch::Tensor scale() const;
  torch::Tensor weight, log_scale;
};

// sop (second-order pooling, bilinear pooling of Lin et al. 2015 on the embedding):
//   u = upper triangle (incl. diagonal) of z z^T, D = d(d+1)/2 entries, row-major;
//   v = u / sqrt(|u| + 1e-10)  (= sign(u) sqrt(|u|) up to a relative 5e-11/|u|; finite gradient at u = 0);
//   logit_j = <w_j, v_hat> + b_j,  w_j in R^D.
class SopHeadImpl : public HeadImpl {
 public:
  explicit SopHeadImpl(const HeadOptions& options);
  torch::Tensor forward(const torch::Tensor& z) override;
  std::string describe() const override;
  // (B, d) -> (B, d(d+1)/2) normalised second-order features v_hat.
  torch::Tensor features(const torch::Tensor& z) const;
  int64_t feature_dim() const { return dim_ * (dim_ + 1) / 2; }
  torch::Tensor weight, bias;

 private:
  int64_t dim_;
};

// kervo-poly: logit_j = s (<z^, w_j> + 1)^kervo_degree + b_j;  kervo-rbf: logit_j = s exp(-gamma ||z^ - w_j||^2) + b_j
// with z^ = z / ||z|| and a learned scale s = exp(log_scale) (init 1 poly, 10 rbf; no weight decay); w_j raw
// (kervolution, Wang et al. 2019, used as the classification layer).
class KervoHeadImpl : public HeadImpl {
 public:
  explicit KervoHeadImpl(const HeadOptions& options);
  torch::Tensor forward(const torch::Tensor& z) override;
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const override;
  std::string describe() const override;
  torch::Tensor weight, bias, log_scale;

 private:
  bool rbf_;
  double gamma_;
  int64_t degree_;
};

// Fixed kernels on the sphere in the kernelized layer (paper Table 6), logit_j = s k(t_j), s = exp(log_scale)
// learned, init 1/temperature (default 10):
//   rbf:         k = exp(-||z_hat - w_hat||^2 / (2 sigma^2)) = exp(-(1 - t) / sigma^2), sigma fixed (default 1)
//   rbf-learned: the same with sigma = exp(log_sigma) learned, init sigma
//   poly:        k = ((t + 1) / 2)^poly_degree in [0, 1] (default degree 10)
class SphereKernelHeadImpl : public HeadImpl {
 public:
  explicit SphereKernelHeadImpl(const HeadOptions& options);
  torch::Tensor forward(const torch::Tensor& z) override;
  std::string describe() const override;
  // Learned scales/widths (log_scale, log_sigma) are exempt from weight decay: decaying them pulls the
  // logit scale towards 1 (near-uniform softmax), a handicap KCL's coefficients do not have.
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const override;
  torch::Tensor sigma() const;  // (,) current sigma (rbf, rbf-learned)
  torch::Tensor weight, log_scale, log_sigma;  // log_sigma only for rbf-learned

 private:
  std::string kind_;
  double sigma_;
  int64_t degree_;
};

// mkl: logit_j = s (b1 t + b2 t^2 + b3 exp(-(1 - t) / sigma^2)) / T, beta = softplus(beta_raw) >= 0 learned,
// init beta = 1; sigma fixed (option sigma, default 1); T fixed = temperature (default 1, as KCL with relu);
// s = exp(log_scale) learned, init 1.
class MklHeadImpl : public HeadImpl {
 public:
  explicit MklHeadImpl(const HeadOptions& options);
  torch::Tensor forward(const torch::Tensor& z) override;
  std::string describe() const override;
  // Learned scales/widths (log_scale, log_sigma) are exempt from weight decay: decaying them pulls the
  // logit scale towards 1 (near-uniform softmax), a handicap KCL's coefficients do not have.
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const override;
  torch::Tensor beta() const;  // (3,)
  torch::Tensor weight, beta_raw, log_scale;

 private:
  double sigma_, temperature_;
};

// Row-wise x / max(||x||_2, 1e-12) for (N, d) tensors; finite gradient at x = 0.
torch::Tensor l2_normalize_rows(const torch::Tensor& x);
// clamp(<z_hat, w_hat_j>, -1, 1): (B, d) x (C, d) -> (B, C).
torch::Tensor sphere_cosines(const torch::Tensor& z, const torch::Tensor& w);

}  // namespace rkhs::classify
