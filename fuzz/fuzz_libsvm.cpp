// libFuzzer target: rkhs::data::load_libsvm on arbitrary bytes, free and fixed feature count, and with a label
// mapping taken from a first file (the train/test case).
#include <torch/torch.h>

#include "fuzz_checks.h"
#include "fuzz_input.h"
#include "rkhs/data/libsvm.h"
#include "rkhs/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  try {
    std::vector<int64_t> labels;
    rkhs::fuzz::check_dataset(rkhs::data::load_libsvm(path, 0, &labels));
    rkhs::fuzz::check_dataset(rkhs::data::load_libsvm(path, 0, &labels));  // reuse the mapping
  } catch (const rkhs::Error&) {
  }
  try {
    rkhs::fuzz::check_dataset(rkhs::data::load_libsvm(path, 8));
  } catch (const rkhs::Error&) {
  }
  return 0;
}
