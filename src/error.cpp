#include "rkhs/error.h"

namespace rkhs {

Error file_error(const std::string& file, long long line, const std::string& what) {
  return Error(file + ":" + std::to_string(line) + ": " + what);
}

Error file_offset_error(const std::string& file, long long offset, const std::string& what) {
  return Error(file + ": offset " + std::to_string(offset) + ": " + what);
}

}  // namespace rkhs
