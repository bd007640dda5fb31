// libFuzzer target: rkhs::core::load_weights (a saved model.pt, torch.load-able pickle archive) on arbitrary
// bytes. Must either load into the tiny model or throw rkhs::Error.
#include <torch/torch.h>

#include "fuzz_input.h"
#include "fuzz_model.h"
#include "rkhs/error.h"
#include "rkhs/core/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  rkhs::fuzz::TinyModel m;
  try {
    rkhs::core::load_weights(path, *m.net);
    (void)m.net->forward(torch::ones({1, 2})).sum().item<double>();
  } catch (const rkhs::Error&) {
  }
  return 0;
}
