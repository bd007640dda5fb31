#pragma once
// Internal: what the NeuralEF and SpIN trainers share: input checks, the batches with their kernel matrices, the
// learning-rate schedule and the evaluation after the iterations.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <utility>

#include "rkhs/core/loop.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/neuralef.h"

namespace rkhs::spectral {

// The checks on the training inputs, with `who` ("NeuralEF", "SpIN") in the messages.
void check_training_inputs(const NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                           const NeuralEFTrainOptions& o, const std::string& who);

// Batches of min(batch_size, N) rows without replacement (a new permutation per pass) and their kernel matrices
// (from the kernel, or Phi Phi^T with o.kernel_features), without gradient, in x's dtype.
class EigenBatches {
 public:
  EigenBatches(const at::Tensor& x, const kernels::KernelPtr& kernel, const NeuralEFTrainOptions& o, at::Generator gen);
  std::pair<at::Tensor, at::Tensor> next();  // (rows of x, kernel matrix)
  int64_t size() const { return bsz_; }

 private:
  const at::Tensor& x_;
  const kernels::KernelPtr& kernel_;
  const NeuralEFTrainOptions& o_;
  at::Generator gen_;
  int64_t n_, bsz_, pos_;
  at::Tensor perm_;
};

// The training kit's loop for o.iterations steps (one epoch) under the cosine schedule from o.lr to 0, with a
// progress line labelled `label`.
core::LoopOptions iteration_loop(const std::string& label, const NeuralEFTrainOptions& o, const c10::Device& device);

// Puts net in evaluation mode, selects at most o.rayleigh_points training rows (all of them, or a random subset
// drawn from gen), calls prepare(selected rows, their indices) if given (SpIN fixes its whitening there), rotates
// the functions by Rayleigh-Ritz if o.rayleigh_ritz (composing with the whitening), and fills r.eigenvalues
// (Rayleigh quotients, float64), r.captured_trace (Ky Fan), r.rayleigh_ritz and r.rayleigh_seconds.
void finish_report(NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                   const NeuralEFTrainOptions& o, at::Generator& gen, NeuralEFReport& r,
                   const std::function<void(const at::Tensor&)>& prepare = {});

}  // namespace rkhs::spectral
