// rkhs: kernel methods inside deep networks — the command-line tool. Thin: all logic lives in librkhs.
#include <iostream>

#include "cli.h"
#include "rkhs/core/message.h"
#include "rkhs/memory.h"

int main(int argc, char** argv) {
  rkhs::keep_freed_memory();  // large temporaries stay mapped between batches (rkhs/memory.h)
  const auto app = rkhs::cli::make_app();
  try {
    rkhs::cli::run_command_line(*app, std::vector<std::string>(argv + 1, argv + argc));
  } catch (const CLI::ParseError& e) {
    return app->exit(e);
  } catch (const rkhs::cli::ExitStatus& e) {
    return e.code;
  } catch (const std::exception& e) {  // rkhs::Error, c10::Error (without its backtrace) and the others
    std::cerr << "rkhs: error: " << rkhs::core::one_line_message(e) << "\n";
    return 1;
  }
  return 0;
}
