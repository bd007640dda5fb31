#include "rkhs/core/device.h"

#include <torch/torch.h>

#include "rkhs/compat.h"

namespace rkhs::core {

at::Tensor batch_to(const at::Tensor& batch, const c10::Device& device) {
  if (batch.device() == device) return batch;
  if (device.is_cuda() && batch.device().is_cpu()) return batch.pin_memory().to(device, /*non_blocking=*/true);
  return batch.to(device);
}

int64_t report_interval(const c10::Device& device) { return device.is_cpu() || device.is_lazy() ? 1 : 50; }

void step_done(const c10::Device& device) {
  if (device.is_lazy()) compat::lazy_mark_step();
}

}  // namespace rkhs::core
