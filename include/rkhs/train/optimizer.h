#pragma once
// Builds the optimizer of a classifier from TrainOptions, with per-parameter weight decay groups.
#include "rkhs/classify/model.h"
#include "rkhs/train/trainer.h"

#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rkhs::train {

// The weight decay of every trainable parameter (requires_grad), by name as in model.named_parameters():
// options.weight_decay, or the value from model.weight_decay_overrides(). Throws rkhs::Error when an override
// names a parameter the model does not have.
std::vector<std::pair<std::string, double>> parameter_weight_decays(const classify::ClassifierImpl& model,
                                                                    const TrainOptions& options);

// sgd (no momentum) | momentum (heavy ball, options.momentum, no Nesterov) | adam (L2 weight decay added to
// the gradient) | adamw (decoupled weight decay) | lbfgs (strong-Wolfe line search, history
// options.lbfgs_history, options.lbfgs_max_iter iterations per step) | esgd | adahessian | kernel-sgd (rkhs's
// own, rkhs/optim/; kernel-sgd uses options.kernel_sgd.momentum). Parameter groups: group 0 holds the
// parameters with the global weight decay, then one group per distinct override value, in order of first
// appearance. L-BFGS supports a single group and no weight decay; the trainer adds the decays of
// parameter_weight_decays() as an explicit penalty sum_p wd_p / 2 * ||p||^2 to the L-BFGS objective.
// Throws rkhs::Error for an unknown optimizer name.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(classify::ClassifierImpl& model, const TrainOptions& options);

// The parameters Kernel SGD preconditions (eq. 5 of paper 001): the head's weight matrix "weight" (the last
// fully connected layer), or with all_layers every parameter named "*weight" with >= 2 dimensions (linear
// layers, and convolution kernels viewed as (out, in * kh * kw)). Throws rkhs::Error when there is none.
std::vector<at::Tensor> kernel_sgd_parameters(const classify::ClassifierImpl& model, bool all_layers);

// Bytes of the optimizer's per-parameter state (momentum buffers, moment estimates, L-BFGS history, ...).
int64_t optimizer_state_bytes(const torch::optim::Optimizer& opt);

// Names accepted by make_optimizer, for --help.
std::vector<std::string> optimizer_names();

}  // namespace rkhs::train
