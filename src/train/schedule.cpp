#include "rkhs/train/schedule.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::train {

std::vector<std::string> schedule_names() { return {"constant", "step", "cosine"}; }

double lr_at(const TrainOptions& o, int64_t iteration, int64_t iterations_per_epoch) {
  RKHS_CHECK(iterations_per_epoch > 0, "lr_at: iterations_per_epoch must be positive, got " +
                                           std::to_string(iterations_per_epoch));
  RKHS_CHECK(iteration >= 0, "lr_at: iteration must be non-negative, got " + std::to_string(iteration));
  RKHS_CHECK(o.warmup_epochs >= 0, "lr_at: warmup_epochs must be non-negative");
  const double t = static_cast<double>(iteration);
  const double total = static_cast<double>(std::max<int64_t>(o.epochs, 0) * iterations_per_epoch);
  const double warm = std::round(o.warmup_epochs * static_cast<double>(iterations_per_epoch));
  const double w = t < warm ? 0.1 + 0.9 * t / warm : 1.0;
  double s = 1.0;
  if (o.schedule == "constant") {
    s = 1.0;
  } else if (o.schedule == "step") {
    RKHS_CHECK(o.step_size > 0, "lr_at: step_size must be positive, got " + std::to_string(o.step_size));
    const int64_t epoch0 = iteration / iterations_per_epoch;
    s = std::pow(o.step_gamma, static_cast<double>(epoch0 / o.step_size));
  } else if (o.schedule == "cosine") {
    if (t >= warm && total > warm) {
      const double p = std::min(1.0, (t - warm) / (total - warm));
      s = 0.5 * (1.0 + std::cos(M_PI * p));
    }
  } else {
    throw Error("unknown learning-rate schedule '" + o.schedule + "' (expected constant, step or cosine)");
  }
  return o.lr * w * s;
}

}  // namespace rkhs::train
