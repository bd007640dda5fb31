// libFuzzer target: rkhs::core::load_checkpoint on arbitrary bytes. Must either restore the tiny model or throw
// rkhs::Error leaving it unchanged.
#include <torch/torch.h>

#include "fuzz_input.h"
#include "fuzz_model.h"
#include "rkhs/error.h"
#include "rkhs/core/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  rkhs::fuzz::TinyModel m;
  try {
    rkhs::core::load_checkpoint(path, *m.net, *m.opt);
    m.opt->zero_grad();
    m.net->forward(torch::ones({1, 2})).sum().backward();  // the restored state is usable
    m.opt->step();
  } catch (const rkhs::Error&) {
  }
  return 0;
}
