// The whole command line as a reusable object: the `rkhs` binary (main.cpp) and the Python package's rkhs.run
// build the same app and parse the same arguments.
#include "cli.h"
#include "rkhs/compat.h"

#include <algorithm>

namespace rkhs::cli {

std::unique_ptr<CLI::App> make_app() {
  auto app = std::make_unique<CLI::App>(
      "rkhs 0.1.0 (LibTorch " + rkhs::compat::torch_version() +
      "): kernel methods inside deep networks.\nRun `rkhs <command> --help` for the options of a command.");
  app->require_subcommand(1);
  app->set_version_flag("--version", "rkhs 0.1.0, LibTorch " + rkhs::compat::torch_version());
  register_classify(*app);
  register_demo(*app);
  register_kernels(*app);
  register_recommend(*app);
  register_embed(*app);
  register_ckn(*app);
  register_eigen(*app);
  register_launch(*app);
  return app;
}

void run_command_line(CLI::App& app, std::vector<std::string> args) {
  args = expand_config(app, args);
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments in reverse order
  app.parse(args);
}

}  // namespace rkhs::cli
