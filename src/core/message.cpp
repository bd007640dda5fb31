#include "rkhs/core/message.h"

#include <c10/util/Exception.h>

namespace rkhs::core {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string one_line_message(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return first_line(c->what_without_backtrace());
  return first_line(e.what());
}

}  // namespace rkhs::core
