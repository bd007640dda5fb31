#pragma once
// Moving work to a device (docs/DEVICES.md): batches from host memory, and how often a training loop reads its
// losses back.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>

namespace rkhs::core {

// A batch held in host memory, on `device`: on a CUDA device through pinned (page-locked) memory with an
// asynchronous copy, elsewhere a plain copy (none when it is there already).
at::Tensor batch_to(const at::Tensor& batch, const c10::Device& device);

// LoopOptions::report_every for a loop on `device`: 1 on the CPU (reading a loss costs nothing there) and on the
// lazy test device (a read ends its traced graph, which otherwise grows over the steps), every 50 steps elsewhere
// (each read waits for the device to finish its queued work).
int64_t report_interval(const c10::Device& device);

// The end of a training step on `device`: a no-op except on the lazy test device, whose traced graph it cuts
// (compat::lazy_mark_step). LossMeter::finish calls it; loops without a LossMeter call it themselves.
void step_done(const c10::Device& device);

}  // namespace rkhs::core
