#pragma once
// NeuralEF (paper 002 §3): k neural networks psi_1..psi_k trained so that they become the top-k eigenfunctions
// of a kernel under the data distribution.
//   L2BN (eq. 16)        every network's output column is divided by sqrt(mean_b psi^2) of the batch (training),
//                        or by an EMA of it (evaluation), so each eigenfunction has unit mean square;
//   loss (eq. 17)        l = -(1/B^2) sum_j ( psi_j^T K psi_j - sum_{i<j} sg(psi_i^T K psi_j)^2 / sg(psi_i^T K psi_i) )
//   gradient (eq. 18)    dl/dpsi_j = -(2/B^2) (K psi_j - sum_{i<j} (R_ij / R_ii) K psi_i),  R = Psi^T K Psi,
//                        computed in closed form without autograd and back-propagated into the networks.
//   eigenvalues          EMA (0.9 old, 0.1 new) of diag(R) / B^2, and a final Rayleigh quotient on the data.
//   Rayleigh-Ritz        optional, not in the paper: the functions rotated within their span after training
//                        (NeuralEFTrainOptions::rayleigh_ritz).
// The k networks are separate, as in the paper, but evaluated together with batched matrix products (MLPs) or
// one convolution plus one grouped convolution per layer (CNNs).
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rkhs/kernels/kernel.h"

namespace rkhs::spectral {

struct NeuralEFOptions {
  int64_t k = 10;
  int64_t input_dim = 1;
  int64_t width = 32;              // hidden units per network
  int64_t hidden_layers = 2;       // linear layers = hidden_layers + 1 (the paper's 3-layer MLPs)
  std::string activation = "sincos";  // "sincos" (half sin, half cos units, the paper's 1-D choice) | "relu" | "tanh"
  double momentum = 0.9;           // EMA of the L2BN norms and of the eigenvalues
  // "mlp" | "cnn": for images (input_dim = C*H*W, image_shape {C, H, W}) each network is Conv3(SAME)-BN-ReLU-
  // MaxPool2-Conv3(VALID)-BN-ReLU-MaxPool2-Linear(width)-ReLU-Linear(1), the reference code's MNIST architecture
  // (there with 32/64 channels and width 128); hidden_layers and activation apply to the MLP only.
  std::string architecture = "mlp";
  // mlp only: one network whose last layer has k outputs instead of k separate networks (the authors' later
  // variant); L2BN and the loss are unchanged.
  bool shared_trunk = false;
  std::vector<int64_t> image_shape;
  std::vector<int64_t> channels = {8, 16};
};

class NeuralEFImpl : public torch::nn::Cloneable<NeuralEFImpl> {
 public:
  explicit NeuralEFImpl(NeuralEFOptions options);
  void reset() override;
  // x (B, d) -> (B, k): the k eigenfunctions after L2BN (batch norms in training, EMA norms in evaluation; in
  // evaluation after SpIN training or a Rayleigh-Ritz rotation the outputs mapped by `whitening` instead).
  at::Tensor forward(const at::Tensor& x);
  // The networks' outputs before L2BN: (B, k).
  at::Tensor raw(const at::Tensor& x);
  // Blends a training batch's L2BN norms (k,) into norm_ema (the first batch sets it); forward() calls it in training.
  void update_norm_ema(const at::Tensor& norm);
  // The mlp networks' forward and backward by hand, without an autograd graph (what train_neuralef uses in one
  // process; docs/NEURALEF.md): raw_taped(x) returns raw(x) and keeps each layer's input and activation
  // derivative; backward_taped(dl/draw) then writes the parameter gradients into their .grad (replacing what was
  // there) and drops the tape.
  at::Tensor raw_taped(const at::Tensor& x);
  void backward_taped(const at::Tensor& raw_grad);

  NeuralEFOptions options;
  // layer l: (k, in, out), (k, 1, out) (a shared trunk: (1, in, out) and k outputs in the last layer);
  // weights N(0, 2 / fan_in), bias 0
  std::vector<at::Tensor> weights, biases;
  // cnn: the two convolutions of all k networks, (k * c1, C, 3, 3) and (k * c2, c1, 3, 3) (grouped by network),
  // their biases and BatchNorms over k * c channels (per channel, so per network); weights/biases are the two linear
  // layers.
  at::Tensor conv1, conv1_bias, conv2, conv2_bias;
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  at::Tensor norm_ema;                      // (k,) buffer, EMA of the L2BN norms
  at::Tensor eigenvalues;                   // (k,) buffer, EMA of the eigenvalue estimates
  at::Tensor initialised;                   // scalar buffer: 0 until the first training batch set norm_ema
  // (k, k) output map T applied in evaluation instead of the L2BN norms (forward returns raw(x) T^T): SpIN's L^-1
  // (spin.h), and/or the Rayleigh-Ritz rotation (NeuralEFTrainOptions::rayleigh_ritz); empty otherwise.
  at::Tensor whitening;

 private:
  enum class Activation { sincos, relu, tanh };
  Activation activation_ = Activation::relu;  // options.activation, parsed by reset(): raw() compares no strings
  std::vector<at::Tensor> tape_inputs_, tape_derivatives_;  // raw_taped's layer inputs (k, in, B), act'(h) (k, out, B)
  // Whether layer `layer` on the activations h (nets, in, B) runs through the CPU loops (float, contiguous).
  bool cpu_loops(const at::Tensor& h, size_t layer) const;
};
TORCH_MODULE(NeuralEF);

// Eq. 17 with the stop-gradients (detach) for Psi (B, k) and K (B, B): a scalar whose autograd gradient in Psi
// is output_gradient(K, Psi). For tests and for users who prefer autograd.
at::Tensor neuralef_loss(const at::Tensor& kernel_matrix, const at::Tensor& psi);
// Eq. 18's dl/dPsi in closed form: (B, k), no autograd.
at::Tensor neuralef_output_gradient(const at::Tensor& kernel_matrix, const at::Tensor& psi);

// The paper's 1-D activation along dim 1 of h: sin on the first half of the units, cos on the second, as one
// autograd function (one output buffer; the backward writes cos and -sin into one gradient buffer).
at::Tensor sincos_activation(const at::Tensor& h);

// One training iteration on a batch (rows xb, kernel matrix kb (B, B)) in training mode, on this process's share
// of the rows (all of them in one process, docs/DISTRIBUTED.md): raw, the networks' outputs before L2BN with their
// graph; raw_grad, dl/draw, eq. 18's dl/dPsi carried through L2BN (eq. 16) by hand, so that raw.backward(raw_grad)
// gives the parameter gradients of eq. 17 (autograd runs through the networks only); rmat, R = Psi^T K Psi (k, k)
// summed over the processes; check, 0, or NaN/Inf on every process when any one's gradient is. Updates the L2BN
// norm EMA. `iteration` names the step in a failed collective's message.
struct NeuralEFStep {
  at::Tensor raw, raw_grad, rmat, check;
};
// With `taped` (the mlp architecture only) the forward is net->raw_taped: raw has no graph and
// net->backward_taped(raw_grad) gives the gradients.
NeuralEFStep neuralef_step(NeuralEF& net, const at::Tensor& xb, const at::Tensor& kb, int64_t iteration = 0,
                           bool taped = false);

struct NeuralEFTrainOptions {
  int64_t iterations = 2000;
  int64_t batch_size = 256;        // min(batch_size, N)
  double lr = 1e-3;                // Adam, cosine schedule to 0
  uint64_t seed = 0;
  bool progress = false;
  int64_t rayleigh_points = 10000;  // the final Rayleigh quotient uses at most this many data points
  // After training, rotate the k learned functions within their span by the Rayleigh-Ritz method on the same
  // points (not in the paper): the k x k generalised eigenproblem (Psi^T K Psi / m^2) v = mu (Psi^T Psi / m) v; the
  // net then evaluates Psi V (orthonormal on those points, through `whitening`) and the eigenvalues are the mu, in
  // descending order. Costs what the Rayleigh quotients cost; skipped with a warning if the span has rank < k.
  bool rayleigh_ritz = false;
  // Optional (N, F) features of the training points with K = Phi Phi^T (a Monte Carlo NN-GP kernel,
  // NNGPMonteCarloKernel::features / sqrt(S)): batches then take rows of Phi instead of calling the kernel.
  at::Tensor kernel_features;
};

struct NeuralEFReport {
  at::Tensor ema_eigenvalues;       // (k,) float64, the training EMA
  at::Tensor eigenvalues;           // (k,) float64, Rayleigh quotients psi_j^T K psi_j / (n psi_j^T psi_j) on data
  // sum_j q_j^T K q_j / n^2 for Q = the learned functions orthonormalised on the same points: at most
  // mu_1 + ... + mu_k (Ky Fan), equal for the top-k eigenspace, so larger is better without any reference.
  double captured_trace = 0;
  bool rayleigh_ritz = false;       // the Rayleigh-Ritz rotation was applied (requested and the span had rank k)
  double train_seconds = 0;         // the iterations only
  double rayleigh_seconds = 0;
};

// Trains net on the rows of x (N, d) against kernel (computed per batch, so N is not limited by N x N memory).
// The eigenvalue EMA restarts from the first batch's estimate.
NeuralEFReport train_neuralef(NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                              const NeuralEFTrainOptions& options);

}  // namespace rkhs::spectral
