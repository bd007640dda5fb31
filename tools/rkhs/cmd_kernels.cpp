// rkhs kernels: the kernel registry (names, formulas, parameters) and a Gram matrix of a small data set.
#include <torch/torch.h>

#include <iostream>

#include "cli.h"
#include "rkhs/kernels/kernel.h"

namespace rkhs::cli {

void register_kernels(CLI::App& app) {
  auto spec = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("kernels", "List the kernel family (spec names, formulas, parameters), or check "
                                            "one spec with --check SPEC");
  cmd->add_option("--check", *spec, "Parse a spec such as rbf:gamma=0.5 and print its canonical form and a 4x4 "
                                    "Gram matrix of random unit vectors");
  cmd->callback([spec] {
    if (spec->empty()) {
      std::cout << kernels::kernel_help();
      return;
    }
    auto k = kernels::make_kernel(*spec);
    torch::manual_seed(0);
    auto x = torch::randn({4, 3}, torch::kFloat64);
    x = x / x.norm(2, 1, true);
    std::cout << k->name() << (k->is_positive_definite() ? " (positive definite)" : " (NOT positive definite)")
              << "\n" << k->gram(x, x) << "\n";
  });
}

}  // namespace rkhs::cli
