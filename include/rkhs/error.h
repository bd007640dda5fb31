#pragma once
// One project error type. Every failure that a user can cause (bad file, bad flag, bad shape, NaN) is
// reported as rkhs::Error with what went wrong and where; the CLI prints e.what() on one line and exits 1.
#include <stdexcept>
#include <string>

namespace rkhs {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Training diverged (a loss that is not finite, or one far above its start): an Error that a search over rates
// may catch to rule a candidate out, where any other Error is a mistake in the run's set-up.
class DivergenceError : public Error {
 public:
  explicit DivergenceError(const std::string& what) : Error(what) {}
};

// "FILE:LINE: what" for text inputs, "FILE: offset N: what" for binary ones.
Error file_error(const std::string& file, long long line, const std::string& what);
Error file_offset_error(const std::string& file, long long offset, const std::string& what);

}  // namespace rkhs

// Throws rkhs::Error(msg) when cond is false. msg may use operator+ on std::string.
#define RKHS_CHECK(cond, msg)                      \
  do {                                             \
    if (!(cond)) throw ::rkhs::Error(std::string(msg)); \
  } while (0)
