#pragma once
// The kernelized classification layer (KCL) of paper 000 (eq. 3-7, appendix D.5), usable directly as a
// drop-in replacement for a linear classification layer:
//
//   z_hat = z / max(||z||, 1e-12),  w_hat_j = w_j / max(||w_j||, 1e-12)              (section 4)
//   t_j   = clamp(<z_hat, w_hat_j>, -1, 1)                                             (B, C)
//   logit_j = k(t_j) / T,  k(t) = a_{-2}[t in {-1,1}] + a_{-1}([t=1] - [t=-1]) + sum_{m=0..M} a_m t^m   (eq. 7)
//   alpha = act(alpha_raw), act in relu | sigmoid | softmax | none, alpha_raw: (M + 3,)
//
// The indicators use a tolerance (t >= 1 - eps counts as t = 1; see rkhs/kernels/series.h). No bias.
// Default temperature per activation (paper appendix D.5): relu 1, sigmoid 0.1, softmax 0.005, none 1.
// Initialisation: weight ~ N(0, 1/d) (only its direction matters); alpha_raw = 1 for relu and none (alpha = 1,
// "alpha initialized with all ones"), alpha_raw = 0 for sigmoid (alpha = 0.5) and softmax (alpha = 1/(M+3)).
// Weight decay on alpha_raw (reported by weight_decay_overrides()): 1e-4 for relu (the paper's setting,
// needed because scaling alpha scales every logit), 0 for the bounded activations; the option overrides both.
// Traps: a_0 adds the same value to every logit, so under softmax cross-entropy it gets zero gradient; the
// indicators rarely fire on float data; with bounded alpha, |logit| <= (M + 3) * max(alpha) / T.
#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "rkhs/classify/head.h"

namespace rkhs::classify {

struct KernelizedOptions {
  KernelizedOptions(int64_t dim, int64_t classes) : dim_(dim), classes_(classes) {}
  // Reads name-independent fields (dim, classes, order, activation, temperature, alpha_weight_decay,
  // indicator_eps) from the registry's options.
  explicit KernelizedOptions(const HeadOptions& o);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, classes);
  TORCH_ARG(int64_t, order) = 10;                 // M >= 0
  TORCH_ARG(std::string, activation) = "relu";    // relu | sigmoid | softmax | none
  TORCH_ARG(double, temperature) = -1.0;          // <= 0: the activation's default
  TORCH_ARG(double, alpha_weight_decay) = -1.0;   // < 0: 1e-4 for relu, 0 otherwise
  TORCH_ARG(double, indicator_eps) = 1e-6;        // in [0, 1)
};

class KernelizedHeadImpl : public HeadImpl {
 public:
  explicit KernelizedHeadImpl(const KernelizedOptions& options);
  KernelizedHeadImpl(int64_t dim, int64_t classes) : KernelizedHeadImpl(KernelizedOptions(dim, classes)) {}

  // z: (B, d) -> logits (B, C).
  torch::Tensor forward(const torch::Tensor& z) override;
  std::vector<std::pair<std::string, double>> weight_decay_overrides() const override;
  // "kernelized(M=10, act=relu, T=1, eps=1e-06)"
  std::string describe() const override;

  // The effective coefficients act(alpha_raw) = (a_{-2}, a_{-1}, a_0, ..., a_M), differentiable.
  torch::Tensor alpha() const;
  // t = clamp(<z_hat, w_hat_j>, -1, 1): (B, d) -> (B, C), the cosines the kernel is evaluated at.
  torch::Tensor cosines(const torch::Tensor& z) const;
  double temperature() const { return temperature_; }
  const KernelizedOptions& options() const { return options_; }

  torch::Tensor weight;     // (C, d) class vectors w_j
  torch::Tensor alpha_raw;  // (M + 3,) raw coefficients

 private:
  enum class Activation { relu, sigmoid, softmax, none };
  KernelizedOptions options_;
  Activation activation_ = Activation::relu;  // options_.activation() parsed once: forward compares no strings
  double temperature_;
};
TORCH_MODULE(KernelizedHead);

// The layer as a function of the embeddings z (B, d), class vectors w (C, d) and effective coefficients alpha
// (M + 3,): logits (B, C) of eq. 3-7. On the CPU in float32/float64 one fused autograd function (forward and first-order backward
// in single passes over the (B, C) cosines; a create_graph backward differentiates the reference instead, so
// Hessian-vector products work). Gradcheck and agreement with the
// reference: tests/classify/test_heads.cpp. Other devices and dtypes use the reference composition.
torch::Tensor kcl_logits(const torch::Tensor& z, const torch::Tensor& w, const torch::Tensor& alpha, double eps,
                         double temperature);
// The same logits as a composition of ATen ops: kernels::series_kernel(sphere_cosines(z, w), alpha, eps) / T.
torch::Tensor kcl_logits_reference(const torch::Tensor& z, const torch::Tensor& w, const torch::Tensor& alpha,
                                   double eps, double temperature);

// Default temperature for a coefficient activation (relu 1, sigmoid 0.1, softmax 0.005, none 1); throws
// rkhs::Error for an unknown activation.
double kcl_default_temperature(const std::string& activation);

}  // namespace rkhs::classify
