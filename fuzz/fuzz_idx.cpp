// libFuzzer target: rkhs::data::load_idx on arbitrary bytes (raw or gzip, zlib detects which). Every outcome must
// be a tensor or an rkhs::Error; anything else (a crash, another exception type, a leak) is a finding.
#include <torch/torch.h>

#include "fuzz_input.h"
#include "rkhs/data/idx.h"
#include "rkhs/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  try {
    at::Tensor t = rkhs::data::load_idx(path);
    if (t.numel() > 0) (void)t.sum().item<double>();  // touch every element
  } catch (const rkhs::Error&) {
  }
  return 0;
}
