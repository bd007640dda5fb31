#pragma once
// Warnings: conditions a user should know about that do not stop the computation (a singular kernel matrix
// replaced by its pseudo-inverse, jitter added, ...). By default one line "rkhs: warning: ..." on stderr.
#include <functional>
#include <string>

namespace rkhs {

// Reports `message` through the current handler.
void warn(const std::string& message);

// Replaces the handler (an empty function restores the default, stderr); returns the previous one. Tests use
// this to capture warnings. Not thread-safe with concurrent warn() calls.
std::function<void(const std::string&)> set_warning_handler(std::function<void(const std::string&)> handler);

}  // namespace rkhs
