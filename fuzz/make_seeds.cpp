// Writes the binary seeds of the checkpoint and weight targets (fuzz/corpus/{checkpoint,weights}/) from the same
// tiny model the targets load into. Usage: make_seeds FUZZ_CORPUS_DIR. The text and IDX seeds are copies of
// tests/fixtures (see fuzz/CMakeLists.txt).
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "fuzz_model.h"
#include "rkhs/core/checkpoint.h"
#include "rkhs/core/state.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds FUZZ_CORPUS_DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "checkpoint");
  std::filesystem::create_directories(dir / "weights");
  rkhs::fuzz::TinyModel m;
  rkhs::core::save_checkpoint((dir / "checkpoint" / "tiny.ckpt").string(), *m.net, *m.opt, 3, R"({"epoch": 3})",
                               {{"rng", torch::arange(4)}});
  rkhs::core::save_weights((dir / "weights" / "tiny.pt").string(), *m.net);
  std::cout << "wrote " << (dir / "checkpoint" / "tiny.ckpt") << " and " << (dir / "weights" / "tiny.pt") << "\n";
  return 0;
}
