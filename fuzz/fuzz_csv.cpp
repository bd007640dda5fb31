// libFuzzer target: rkhs::data::load_csv on arbitrary bytes, with and without a fixed class count.
#include <torch/torch.h>

#include "fuzz_input.h"
#include "rkhs/data/csv.h"
#include "rkhs/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  for (int64_t classes : {int64_t(0), int64_t(3)}) {
    try {
      auto d = rkhs::data::load_csv(path, classes);
      if (d.y.numel() > 0 && (d.y.min().item<int64_t>() < 0 || d.y.max().item<int64_t>() >= d.num_classes))
        __builtin_trap();  // a label outside [0, num_classes) must never be returned
      if (!torch::isfinite(d.x).all().item<bool>()) __builtin_trap();  // nor a NaN/Inf feature
    } catch (const rkhs::Error&) {
    }
  }
  return 0;
}
