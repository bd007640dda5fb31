#include "rkhs/core/loss_meter.h"

#include <torch/torch.h>

#include "rkhs/core/device.h"

namespace rkhs::core {

void LossMeter::add(const at::Tensor& loss, double weight) {
  device_ = loss.device();
  auto term = loss.detach().to(torch::kFloat64) * weight;
  sum_ = sum_.defined() ? sum_ + term : term;
  weight_ += weight;
}

StepLoss LossMeter::finish(const Step& s) {
  step_done(device_);
  StepLoss l;
  if (!s.report) {
    l.pending = true;
    return l;
  }
  l.loss = sum_.defined() ? sum_.item<double>() / weight_ : 0.0;
  l.weight = weight_;
  l.check = sum_.defined();
  clear();
  return l;
}

void LossMeter::clear() {
  sum_ = at::Tensor();
  weight_ = 0;
}

}  // namespace rkhs::core
