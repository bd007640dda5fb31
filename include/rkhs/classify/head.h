#pragma once
// Classification heads: map embeddings z (B, d) to logits (B, C). The kernelized classification layer of
// paper 000 ("kernelized") and every baseline the paper compares against.
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rkhs::classify {

struct HeadOptions {
  // softmax | cosine (LIN) | kernelized (KCL) | sop | kervo-poly | kervo-rbf | rbf | rbf-learned | poly | mkl
  std::string name = "softmax";
  int64_t dim = 0;      // embedding dimension d
  int64_t classes = 0;  // number of classes C

  // softmax: which vectors are L2-normalised (paper Table 7): "none", "embedding" (the paper's softmax
  // baseline), "both-fixed" (cosine with fixed temperature), "both-learned" (= cosine/LIN).
  std::string normalize = "embedding";

  // kernelized (paper eq. 3-7): order M, coefficient activation relu|sigmoid|softmax|none, temperature T
  // (<= 0 means the paper's default for the activation: relu 1, sigmoid 0.1, softmax 0.005, none 1),
  // weight decay on the coefficients (< 0 means the default: 1e-4 for relu, 0 otherwise), and the tolerance
  // eps of the indicator terms: t >= 1 - eps counts as t = 1 and t <= -1 + eps as t = -1.
  int64_t order = 10;
  std::string activation = "relu";
  double temperature = -1.0;
  double alpha_weight_decay = -1.0;
  double indicator_eps = 1e-6;

  // Fixed-kernel heads on the sphere (normalised w, z; logits = learned scale s times the kernel, s starting
  // at 1/temperature, default 10): rbf exp(-||w-z||^2 / (2 sigma^2)) (rbf-learned learns sigma),
  // poly ((<w,z> + 1) / 2)^poly_degree; mkl uses sigma and temperature (default 1) too.
  // On raw z: kervo-rbf exp(-gamma ||w - z||^2), kervo-poly (<w,z> + 1)^kervo_degree. See docs/HEADS.md.
  // The temperature also sets the cosine / both-learned initial scale 1/T (default 10) and the both-fixed T
  // (default 0.1); <= 0 always means the head's default.
  double sigma = 1.0;
  int64_t poly_degree = 10;
  double gamma = 1.0;
  int64_t kervo_degree = 3;
};

class HeadImpl : public torch::nn::Module {
 public:
  // z: (B, d) -> logits (B, C).
  virtual torch::Tensor forward(const torch::Tensor& z) = 0;
  // Parameters (by name relative to this head, as in named_parameters()) whose weight decay differs from
  // the optimizer's global one, e.g. {"alpha_raw", 1e-4} for KCL with ReLU.
  virtual std::vector<std::pair<std::string, double>> weight_decay_overrides() const { return {}; }
  // A short human-readable description with the effective settings, e.g.
  // "kernelized(M=10, act=relu, T=1, eps=1e-06)".
  virtual std::string describe() const = 0;
};

// Builds a head from options (parameters float32 on the CPU, initialised from the current torch seed); throws
// rkhs::Error for an unknown name or invalid options (dim/classes <= 0, order < 0, unknown activation, ...).
std::shared_ptr<HeadImpl> make_head(const HeadOptions& options);

// The canonical head names, for --help; make_head also accepts the aliases lin (= cosine) and
// kcl (= kernelized). Concrete classes: rkhs/classify/kcl.h (KernelizedHeadImpl) and rkhs/classify/heads.h.
std::vector<std::string> head_names();

}  // namespace rkhs::classify
