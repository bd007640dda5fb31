#pragma once
// Learning-rate schedules, evaluated per optimizer iteration (mini-batch), not per epoch.
#include "rkhs/core/schedule.h"
#include "rkhs/train/trainer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace rkhs::train {

// Learning rate of 0-based `iteration` (t) with `iterations_per_epoch` (I) mini-batches per epoch, for
// options.epochs (E) epochs in all: T = E * I iterations, W = round(warmup_epochs * I) warm-up iterations.
//   lr_at(t) = lr * w(t) * s(t)
//   w(t) = 0.1 + 0.9 * t / W  for t < W (linear warm-up from lr/10), 1 afterwards
//   s(t) = 1                                           schedule "constant"
//          step_gamma ^ floor(floor(t / I) / step_size)  schedule "step" (0-based epoch floor(t / I))
//          1 for t < W, else 0.5 * (1 + cos(pi * (t - W) / (T - W)))   schedule "cosine" (reaches 0 at t = T)
// Throws rkhs::Error for an unknown schedule name or non-positive iterations_per_epoch / step_size.
double lr_at(const TrainOptions& options, int64_t iteration, int64_t iterations_per_epoch);
// The same schedule as the training kit's core::Schedule (lr_at(o, t, I) == schedule_of(o, I).at(t)).
core::Schedule schedule_of(const TrainOptions& options, int64_t iterations_per_epoch);

// Names accepted by lr_at, for --help.
std::vector<std::string> schedule_names();

}  // namespace rkhs::train
