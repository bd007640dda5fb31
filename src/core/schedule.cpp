#include "rkhs/core/schedule.h"

#include <algorithm>
#include <cmath>

#include "rkhs/error.h"

namespace rkhs::core {

namespace {
constexpr const char* kNames[] = {"constant", "step", "cosine", "multistep"};
}

std::vector<std::string> schedule_names() { return {std::begin(kNames), std::end(kNames)}; }

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "step") return ScheduleKind::step;
  if (name == "cosine") return ScheduleKind::cosine;
  if (name == "multistep") return ScheduleKind::multistep;
  throw Error("unknown learning-rate schedule '" + name + "' (expected constant, step, cosine or multistep)");
}

std::string schedule_name(ScheduleKind kind) { return kNames[static_cast<int>(kind)]; }

double Schedule::at(int64_t step) const {
  RKHS_CHECK(steps_per_epoch > 0, "learning-rate schedule: steps per epoch must be positive, got " +
                                      std::to_string(steps_per_epoch));
  RKHS_CHECK(step >= 0, "learning-rate schedule: the step must be non-negative, got " + std::to_string(step));
  RKHS_CHECK(warmup >= 0, "learning-rate schedule: the warm-up must be non-negative");
  const double t = static_cast<double>(step);
  const double total = static_cast<double>(std::max<int64_t>(epochs, 0) * steps_per_epoch);
  const double warm = static_cast<double>(warmup);
  const double w = t < warm ? 0.1 + 0.9 * t / warm : 1.0;
  const int64_t epoch0 = step / steps_per_epoch;
  double s = 1.0;
  switch (kind) {
    case ScheduleKind::constant:
      break;
    case ScheduleKind::step:
      RKHS_CHECK(step_size > 0, "learning-rate schedule: the step size must be positive, got " +
                                    std::to_string(step_size));
      s = std::pow(gamma, static_cast<double>(epoch0 / step_size));
      break;
    case ScheduleKind::multistep: {  // lr times gamma once per milestone passed, in that order
      double r = lr;
      for (auto m : milestones)
        if (epoch0 >= m) r *= gamma;
      return r * w;
    }
    case ScheduleKind::cosine:
      if (t >= warm && total > warm) {
        const double p = std::min(1.0, (t - warm) / (total - warm));
        s = 0.5 * (1.0 + std::cos(M_PI * p));
      }
      break;
  }
  return lr * w * s;
}

}  // namespace rkhs::core
