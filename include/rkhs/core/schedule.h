#pragma once
// Learning-rate schedules of the training kit, evaluated per optimizer step (mini-batch or iteration).
#include <cstdint>
#include <string>
#include <vector>

namespace rkhs::core {

enum class ScheduleKind { constant, step, cosine, multistep };

// The rate of 0-based step t, for `epochs` (E) epochs of `steps_per_epoch` (I) steps: T = E * I steps in all,
// W = warmup steps, e = floor(t / I) the 0-based epoch.
//   rate(t) = lr * w(t) * s(t)
//   w(t) = 0.1 + 0.9 * t / W  for t < W (linear warm-up from lr/10), 1 afterwards
//   s(t) = 1                                                        constant
//          gamma ^ floor(e / step_size)                             step
//          gamma ^ #{m in milestones : m <= e}                      multistep (after epoch m, 1-based, the rate drops)
//          1 for t < W, else 0.5 * (1 + cos(pi * (t - W) / (T - W)))  cosine (reaches 0 at t = T)
struct Schedule {
  ScheduleKind kind = ScheduleKind::constant;
  double lr = 0.1;
  int64_t epochs = 1;
  int64_t steps_per_epoch = 1;
  int64_t warmup = 0;     // steps
  int64_t step_size = 30; // epochs (step)
  double gamma = 0.1;     // step, multistep
  std::vector<int64_t> milestones;  // 1-based epochs (multistep)

  // Throws rkhs::Error for a negative step or a schedule whose settings cannot be evaluated.
  double at(int64_t step) const;
};

// "constant" | "step" | "cosine" | "multistep"; throws rkhs::Error naming the accepted names otherwise.
ScheduleKind parse_schedule(const std::string& name);
std::string schedule_name(ScheduleKind kind);
// The names parse_schedule accepts, for help texts.
std::vector<std::string> schedule_names();

}  // namespace rkhs::core
