#pragma once
// Internal: the evaluation shared by the NeuralEF and SpIN trainers after their iterations.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>

#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/neuralef.h"

namespace rkhs::spectral {

// Puts net in evaluation mode, selects at most o.rayleigh_points training rows (all of them, or a random subset
// drawn from gen), calls prepare(selected rows, their indices) if given (SpIN fixes its whitening there), and fills
// r.eigenvalues (Rayleigh quotients, float64), r.captured_trace (Ky Fan) and r.rayleigh_seconds.
void finish_report(NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                   const NeuralEFTrainOptions& o, at::Generator& gen, NeuralEFReport& r,
                   const std::function<void(const at::Tensor&)>& prepare = {});

}  // namespace rkhs::spectral
