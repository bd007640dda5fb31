#include "rkhs/warn.h"

#include <iostream>
#include <utility>

namespace rkhs {

namespace {
std::function<void(const std::string&)>& handler() {
  static std::function<void(const std::string&)> h;
  return h;
}
}  // namespace

void warn(const std::string& message) {
  if (handler()) {
    handler()(message);
  } else {
    std::cerr << "rkhs: warning: " << message << std::endl;
  }
}

std::function<void(const std::string&)> set_warning_handler(std::function<void(const std::string&)> h) {
  return std::exchange(handler(), std::move(h));
}

}  // namespace rkhs
