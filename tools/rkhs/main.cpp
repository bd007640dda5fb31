// rkhs: kernel methods inside deep networks — the command-line tool. Thin: all logic lives in librkhs.
#include <c10/util/Exception.h>

#include <iostream>

#include "cli.h"
#include "rkhs/error.h"
#include "rkhs/memory.h"

namespace {

// First line of a message: LibTorch errors carry a multi-line C++ backtrace.
std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

int main(int argc, char** argv) {
  rkhs::keep_freed_memory();  // large temporaries stay mapped between batches (rkhs/memory.h)
  const auto app = rkhs::cli::make_app();
  try {
    rkhs::cli::run_command_line(*app, std::vector<std::string>(argv + 1, argv + argc));
  } catch (const CLI::ParseError& e) {
    return app->exit(e);
  } catch (const rkhs::cli::ExitStatus& e) {
    return e.code;
  } catch (const rkhs::Error& e) {
    std::cerr << "rkhs: error: " << first_line(e.what()) << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "rkhs: error: " << first_line(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "rkhs: error: " << first_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
