#pragma once
// kernelNet layers (paper 004): weight matrices built from kernels of low-dimensional location vectors.
// Every layer maps x (B, in) to x W^T + b (B, out) with an effective weight matrix W of shape (out, in):
//   dense                W free (the I-AutoRec baseline);
//   KernelLinear         W_ij = alpha_i K(u_i, v_j), u (out, d), v (in, d) (eq. 14/15), d (in + out) + 2 out
//                        parameters instead of in * out + out;
//   SparseKernelLinear   W_ij = A_ij K_fs(u_i, v_j) with K_fs = max(0, 1 - ||u_i - v_j||^2) (eq. 16/17, the
//                        "sparse fully-connected" layer): a dense A masked by a learned finite-support kernel.
// Each layer also returns its regulariser (paper §3.5.2 / the official code) and the counts of Table 4.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>

#include "rkhs/kernels/kernel.h"

namespace rkhs::kernelnet {

struct LayerOptions {
  int64_t in = 0, out = 0;
  double lambda2 = 20;          // L2 weight: lambda2 / 2 * sum W^2 (dense, KernelLinear) or sum A^2 (sparse)
  // SparseKernelLinear: sparsity weight on the kernel matrix, lambda_s / 2 * sum K^2 ("squared", the official
  // code) or lambda_s * sum K ("linear", the paper's lambda_0 sum K; K >= 0 so it is an L1 norm).
  double lambda_s = 0.006;
  std::string sparsity_penalty = "squared";
  int64_t dim = 5;              // d, the dimension of the location vectors
  std::string kernel = "tanh";  // KernelLinear: any registry kernel spec (linear, polynomial:degree=2, rbf, ...)
  // KernelLinear with dim 2: the output locations u are fixed on a g x g grid of [0, 1]^2 (out = g^2, a buffer,
  // not trained) and the input locations start uniform on [0, 1]^2 (the paper's §3.2-3.3 layers).
  bool grid_outputs = false;
};

// g x g locations on [0, 1]^2, row-major: (g^2, 2).
at::Tensor grid_locations(int64_t g);

// KernelLinear's effective matrix (eq. 14/15): W_ij = alpha_i K(u_i, v_j) for u (out, d), v (in, d), alpha (out,);
// differentiable in all three. Throws rkhs::Error for mismatched shapes.
at::Tensor kernel_weight(const kernels::Kernel& kernel, const at::Tensor& u, const at::Tensor& v,
                         const at::Tensor& alpha);

class LayerImpl : public torch::nn::Module {
 public:
  virtual at::Tensor weight() const = 0;  // the effective (out, in) matrix
  virtual at::Tensor forward(const at::Tensor& x);
  virtual at::Tensor penalty() const = 0;  // the layer's regulariser (a scalar)
  // Free parameters (numel of all parameters), and connections: entries of the weight matrix that cost a
  // multiply-accumulate (all of them for dense and kernel layers, K_fs > 0 for the sparse layer).
  int64_t parameter_count() const;
  virtual int64_t nonzero_weights() const;
  at::Tensor bias;
  // The layer's options; the penalty reads lambda2 / lambda_s from here on every call, so a regularisation path
  // (fit_autorec_path) changes them between fits of one model.
  LayerOptions options;

 protected:
  explicit LayerImpl(const LayerOptions& o) : options(o) {}
};
using Layer = std::shared_ptr<LayerImpl>;

// Dense W: Glorot-uniform W and b (TensorFlow's default for get_variable, as in the official code: b ~
// U(+-sqrt(3 / out))).
class DenseLayerImpl : public LayerImpl {
 public:
  explicit DenseLayerImpl(const LayerOptions& o);
  at::Tensor weight() const override { return w; }
  at::Tensor penalty() const override;
  at::Tensor w;
};

// W_ij = alpha_i K(u_i, v_j) with a registry kernel. Initialisation: u, v ~ N(0, 1) / d^(1/4) (so u_i . v_j has
// unit variance), alpha_i = sqrt(2 / (in + out)) (Glorot's variance for a unit-variance kernel), b as dense.
// Penalty lambda2 / 2 * sum W^2 on the effective matrix (the paper's R = lambda2 sum W^2); u, v, b unregularised.
class KernelLinearImpl : public LayerImpl {
 public:
  explicit KernelLinearImpl(const LayerOptions& o);
  at::Tensor weight() const override;
  at::Tensor penalty() const override;
  at::Tensor u, v, alpha;
  kernels::KernelPtr kernel;
};

// y = x (A ⊙ K_fs(u, v))^T + b. A and b Glorot-uniform as dense; u, v ~ truncated N(0, 1e-3^2) (cut at 2 std, as
// tf.random.truncated_normal), so K ≈ 1 at the start and the sparsity is learned. The squared distance is computed
// directly and clamped, so the gradient is finite when u_i = v_j. Penalty lambda2 / 2 sum A^2 + the sparsity term.
class SparseKernelLinearImpl : public LayerImpl {
 public:
  explicit SparseKernelLinearImpl(const LayerOptions& o);
  at::Tensor kernel_matrix() const;  // K_fs(u, v), (out, in)
  at::Tensor weight() const override;
  int64_t nonzero_weights() const override;
  at::Tensor penalty() const override;
  at::Tensor a, u, v;
  kernels::KernelPtr kernel;  // finite:a=1
};

// "dense" | "kernel" | "sparse".
Layer make_layer(const std::string& kind, const LayerOptions& o);

}  // namespace rkhs::kernelnet
