#pragma once
// Losses kept on the device between the training loop's reports (core::run_loop, LoopOptions::report_every), so a
// GPU step needs no host synchronisation: add() folds a step's loss into a device sum, report() reads the sum once
// and returns what the loop expects of a reporting step.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "rkhs/core/loop.h"

namespace rkhs::core {

class LossMeter {
 public:
  // The step's loss (a scalar tensor, any device; its graph is not kept) with its weight in the epoch's mean.
  void add(const at::Tensor& loss, double weight = 1);
  // What step `s` returns for its loss: pending (nothing read) when the loop does not ask for a report, otherwise
  // the weighted mean and total weight of the losses added since the last report (one host read). Ends the step
  // on the device (core::step_done).
  StepLoss finish(const Step& s);
  void clear();

 private:
  at::Tensor sum_;
  double weight_ = 0;
  c10::Device device_ = c10::Device(c10::kCPU);
};

}  // namespace rkhs::core
