// libFuzzer target: rkhs::data::load_libsvm on arbitrary bytes, free and fixed feature count, and with a label
// mapping taken from a first file (the train/test case).
#include <torch/torch.h>

#include "fuzz_input.h"
#include "rkhs/data/libsvm.h"
#include "rkhs/error.h"

namespace {
void check(const rkhs::data::Dataset& d) {
  if (d.y.numel() > 0 && (d.y.min().item<int64_t>() < 0 || d.y.max().item<int64_t>() >= d.num_classes))
    __builtin_trap();
  if (!torch::isfinite(d.x).all().item<bool>()) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  try {
    std::vector<int64_t> labels;
    check(rkhs::data::load_libsvm(path, 0, &labels));
    check(rkhs::data::load_libsvm(path, 0, &labels));  // reuse the mapping
  } catch (const rkhs::Error&) {
  }
  try {
    check(rkhs::data::load_libsvm(path, 8));
  } catch (const rkhs::Error&) {
  }
  return 0;
}
