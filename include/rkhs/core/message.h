#pragma once
// One readable line from an error message, for the CLI, the Python package and the messages that wrap others.
#include <exception>
#include <string>

namespace rkhs::core {

// The first line of a message (LibTorch's errors carry a multi-line C++ backtrace after it).
std::string first_line(const std::string& s);

// The first line of any exception's message, without LibTorch's backtrace (c10::Error::what_without_backtrace).
std::string one_line_message(const std::exception& e);

}  // namespace rkhs::core
