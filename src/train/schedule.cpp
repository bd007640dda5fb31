#include "rkhs/train/schedule.h"

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::train {

std::vector<std::string> schedule_names() { return {"constant", "step", "cosine"}; }

core::Schedule schedule_of(const TrainOptions& o, int64_t iterations_per_epoch) {
  RKHS_CHECK(o.warmup_epochs >= 0, "lr_at: warmup_epochs must be non-negative");
  core::Schedule s;
  if (o.schedule == "constant" || o.schedule == "step" || o.schedule == "cosine")
    s.kind = core::parse_schedule(o.schedule);
  else
    throw Error("unknown learning-rate schedule '" + o.schedule + "' (expected constant, step or cosine)");
  s.lr = o.lr;
  s.epochs = o.epochs;
  s.steps_per_epoch = iterations_per_epoch;
  s.warmup = static_cast<int64_t>(std::round(o.warmup_epochs * static_cast<double>(std::max<int64_t>(iterations_per_epoch, 0))));
  s.step_size = o.step_size;
  s.gamma = o.step_gamma;
  return s;
}

double lr_at(const TrainOptions& o, int64_t iteration, int64_t iterations_per_epoch) {
  return schedule_of(o, iterations_per_epoch).at(iteration);
}

}  // namespace rkhs::train
