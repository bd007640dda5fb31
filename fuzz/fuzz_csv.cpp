// libFuzzer target: rkhs::data::load_csv on arbitrary bytes, with and without a fixed class count.
#include <torch/torch.h>

#include "fuzz_checks.h"
#include "fuzz_input.h"
#include "rkhs/data/csv.h"
#include "rkhs/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  for (int64_t classes : {int64_t(0), int64_t(3)}) {
    try {
      rkhs::fuzz::check_dataset(rkhs::data::load_csv(path, classes));
    } catch (const rkhs::Error&) {
    }
  }
  return 0;
}
