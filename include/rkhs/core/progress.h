#pragma once
// A one-line progress display with ETA on stderr.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace rkhs::core {

// On a terminal, update() redraws "LABEL  done/total  SUFFIX  ETA m:ss" in place with '\r' at most 10 times
// per second (and always for done == total); finish() draws the final state and ends the line. When the stream
// is not a terminal, update() prints nothing and finish() prints one plain line with the last state and the
// elapsed time, so logs get one line per epoch. A disabled Progress prints nothing.
class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled);
  // For tests and other streams: `interactive` chooses the terminal behaviour explicitly.
  Progress(std::string label, int64_t total, bool enabled, std::FILE* out, bool interactive);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(int64_t done, const std::string& suffix = "");
  void finish();

 private:
  std::string line(bool final) const;
  void draw(bool final);

  std::string label_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  std::string suffix_;
  bool enabled_ = false;
  bool interactive_ = false;
  bool finished_ = false;
  std::FILE* out_ = nullptr;
  std::size_t last_width_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
};

// "1:05", "1:02:03" for a number of seconds (negative or non-finite -> "?").
std::string format_duration(double seconds);

}  // namespace rkhs::core
