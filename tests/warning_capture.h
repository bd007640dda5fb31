#pragma once
// Tests: collects every rkhs::warn() message while in scope and restores the previous handler when it leaves it
// (also when an assertion or exception ends the test early).
#include <functional>
#include <string>
#include <vector>

#include "rkhs/warn.h"

namespace rkhs::testing {

class WarningCapture {
 public:
  WarningCapture() : previous_(set_warning_handler([this](const std::string& m) { messages.push_back(m); })) {}
  ~WarningCapture() { set_warning_handler(previous_); }
  WarningCapture(const WarningCapture&) = delete;
  WarningCapture& operator=(const WarningCapture&) = delete;
  std::vector<std::string> messages;

 private:
  std::function<void(const std::string&)> previous_;
};

}  // namespace rkhs::testing
