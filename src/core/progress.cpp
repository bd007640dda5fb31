#include "rkhs/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace rkhs::core {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<long long>(std::llround(seconds));
  char buf[64];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

Progress::Progress(std::string label, int64_t total, bool enabled)
    : Progress(std::move(label), total, enabled, stderr, enabled && ::isatty(::fileno(stderr)) == 1) {}

Progress::Progress(std::string label, int64_t total, bool enabled, std::FILE* out, bool interactive)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && out != nullptr),
      interactive_(interactive),
      out_(out),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  // An interrupted line (exception during the epoch) must not be left without its newline.
  if (enabled_ && interactive_ && drawn_ && !finished_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

std::string Progress::line(bool final) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string s = label_ + "  " + std::to_string(done_) + "/" + std::to_string(total_);
  if (!suffix_.empty()) s += "  " + suffix_;
  if (final || done_ >= total_) {
    s += "  " + format_duration(elapsed);
  } else {
    const double eta = done_ > 0 ? elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_) : -1;
    s += "  ETA " + format_duration(eta);
  }
  return s;
}

void Progress::draw(bool final) {
  std::string s = line(final);
  const std::size_t width = s.size();
  if (width < last_width_) s.append(last_width_ - width, ' ');  // clear the rest of a longer previous line
  last_width_ = width;
  std::fputc('\r', out_);
  std::fputs(s.c_str(), out_);
  std::fflush(out_);
  drawn_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t done, const std::string& suffix) {
  done_ = done;
  suffix_ = suffix;
  if (!enabled_ || !interactive_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  draw(false);
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (interactive_) {
    draw(true);
    std::fputc('\n', out_);
  } else {
    std::fputs((line(true) + "\n").c_str(), out_);
  }
  std::fflush(out_);
}

}  // namespace rkhs::core
