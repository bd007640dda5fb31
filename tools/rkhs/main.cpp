// rkhs: kernel methods inside deep networks — the command-line tool. Thin: all logic lives in librkhs.
#include <c10/util/Exception.h>

#include <algorithm>
#include <iostream>

#include "cli.h"
#include "rkhs/compat.h"
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
  CLI::App app{"rkhs " + std::string("0.1.0") + " (LibTorch " + rkhs::compat::torch_version() +
               "): kernel methods inside deep networks.\nRun `rkhs <command> --help` for the options of a command."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rkhs 0.1.0, LibTorch " + rkhs::compat::torch_version());
  rkhs::cli::register_classify(app);
  rkhs::cli::register_demo(app);
  rkhs::cli::register_kernels(app);
  rkhs::cli::register_recommend(app);
  rkhs::cli::register_embed(app);
  rkhs::cli::register_ckn(app);
  rkhs::cli::register_eigen(app);
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    args = rkhs::cli::expand_config(app, args);
    std::reverse(args.begin(), args.end());  // CLI11 takes the arguments in reverse order
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
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
