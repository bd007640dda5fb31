#include "rkhs/core/loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "rkhs/core/progress.h"
#include "rkhs/error.h"
#include "rkhs/warn.h"

namespace rkhs::core {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The outcome of one pass over an epoch's steps.
struct Pass {
  double loss_sum = 0, weight_sum = 0, lr = 0, bad_loss = 0;
  int64_t steps = 0;
  int64_t pending = 0;  // steps whose losses the next report covers
  int64_t covered = 0;  // at a divergence: the pending steps the bad report covered
  bool diverged = false;
  double mean() const { return weight_sum > 0 ? loss_sum / weight_sum : 0; }
};

std::string epoch_label(const LoopOptions& o, int64_t epoch) {
  if (o.epochs > 1 || o.epoch_label) return o.label + " " + std::to_string(epoch) + "/" + std::to_string(o.epochs);
  return o.label;
}

Pass run_steps(const LoopOptions& o, const LoopHooks& h, int64_t epoch, double backoff, double limit, Progress& bar) {
  Pass p;
  int64_t done = 0;
  for (int64_t i = 0; i < o.steps; ++i) {
    const bool report = o.report_every <= 1 || (i + 1) % o.report_every == 0 || i + 1 == o.steps;
    Step s{epoch, i, (epoch - 1) * o.steps + i, 0, report};
    if (o.schedule) {
      s.lr = o.schedule->at(s.global) * backoff;
      if (h.set_lr) h.set_lr(s.lr);
    }
    p.lr = s.lr;
    const StepLoss l = h.step(s);
    ++p.steps;
    RKHS_CHECK(!(l.pending && report), (o.who.empty() ? std::string() : o.who + ": ") +
                                           "training loop: a step asked to report its loss left it pending");
    if (l.pending) {
      ++p.pending;
    } else if (l.check) {
      p.loss_sum += l.loss * l.weight;
      p.weight_sum += l.weight;
      const bool bad = !std::isfinite(l.loss);
      if (bad || (o.divergence_factor > 0 && p.steps >= 5 && p.mean() > limit)) {
        p.diverged = true;
        p.bad_loss = bad ? l.loss : p.mean();
        p.covered = p.pending;
        break;
      }
      p.pending = 0;
    }
    if (h.update) h.update(s);
    done += l.progress > 0 ? l.progress : 1;
    bar.update(done, o.progress_loss && p.weight_sum > 0 ? "loss " + format_number("%.4f", p.mean()) : "");
  }
  return p;
}

}  // namespace

std::string format_number(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

Stopwatch::Stopwatch() : start_ns_(now_ns()) {}
double Stopwatch::seconds() const { return double(now_ns() - start_ns_) * 1e-9; }

LoopReport run_loop(const LoopOptions& o, const LoopHooks& h, int64_t first_epoch) {
  RKHS_CHECK(static_cast<bool>(h.step), "training loop: no step given");
  RKHS_CHECK(o.steps >= 1 && o.epochs >= 0, "training loop: steps per epoch must be >= 1 and epochs >= 0");
  RKHS_CHECK(o.max_restarts >= 0 && o.backoff > 0 && o.backoff < 1,
             "training loop: restarts must be >= 0 and the backoff in (0, 1)");
  RKHS_CHECK(o.resumed_restarts >= 0 && o.resumed_backoff > 0 && o.resumed_backoff <= 1,
             "training loop: resumed restarts must be >= 0 and the resumed backoff in (0, 1]");
  const std::string who = o.who.empty() ? "" : o.who + ": ";
  LoopReport r;
  r.restarts = o.resumed_restarts;
  r.backoff = o.resumed_backoff;
  const Stopwatch total;
  for (int64_t epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    const Stopwatch watch;
    const int64_t units = o.progress_total > 0 ? o.progress_total : o.steps;
    std::optional<Progress> bar;
    const double reference = h.begin_epoch ? h.begin_epoch(epoch) : 0.0;
    const double limit = std::max(o.divergence_floor, o.divergence_factor * reference);
    if (o.max_restarts > 0 && h.save) h.save();
    Pass pass;
    while (true) {
      if (h.begin_pass) h.begin_pass(epoch);
      bar.emplace(epoch_label(o, epoch), units, o.progress);
      pass = run_steps(o, h, epoch, r.backoff, limit, *bar);
      if (!pass.diverged) break;
      bar->finish();
      std::string what = who + "training diverged: " +
                         (std::isfinite(pass.bad_loss) ? "running mean loss " : "loss is ") +
                         format_number("%.4g", pass.bad_loss) + " at epoch " + std::to_string(epoch) + ", batch " +
                         std::to_string(pass.steps) +
                         (pass.covered > 0 ? " or one of the " + std::to_string(pass.covered) + " before it" : "") +
                         " (of " + std::to_string(o.steps) + ", lr " + format_number("%.6g", pass.lr) + ")";
      if (std::isfinite(pass.bad_loss)) what += ", above " + format_number("%.4g", limit);
      if (r.restarts >= o.max_restarts)
        throw DivergenceError(what + (r.restarts > 0 ? " after " + std::to_string(r.restarts) + " restart(s)" : std::string()) +
                    "; " + o.hint);
      RKHS_CHECK(static_cast<bool>(h.restore), who + "training loop: restarts need a restore hook");
      h.restore();
      r.backoff *= o.backoff;
      ++r.restarts;
      warn(what + ": state restored, the epoch is rerun with lr " + format_number("%g", pass.lr * o.backoff));
    }
    EpochSummary s{epoch, pass.mean(), pass.lr, pass.steps, watch.seconds(), {}, r.restarts, r.backoff};
    const bool stop = h.end_epoch ? h.end_epoch(s) : false;
    if (!s.note.empty()) bar->update(units, s.note);
    bar->finish();
    s.seconds = watch.seconds();
    r.epochs.push_back(s);
    if (stop) {
      r.stopped = epoch < o.epochs;
      break;
    }
  }
  r.seconds = total.seconds();
  return r;
}

}  // namespace rkhs::core
