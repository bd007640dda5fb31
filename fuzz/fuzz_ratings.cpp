// libFuzzer target: the MovieLens readers (format detection, the three formats, duplicate detection) and a random
// train/test split with id remapping, on arbitrary bytes.
#include "fuzz_input.h"
#include "rkhs/data/ratings.h"
#include "rkhs/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rkhs::fuzz::InputFile file;
  const std::string& path = file.write(data, size);
  try {
    auto s = rkhs::data::load_ratings_split(path, "", 0.2, 1);
    for (const auto* r : {&s.train, &s.test}) {
      if (r->user.size() != r->rating.size() || r->item.size() != r->rating.size()) __builtin_trap();
      for (int64_t i = 0; i < r->size(); ++i)
        if (r->user[i] < 0 || r->user[i] >= r->num_users() || r->item[i] < 0 || r->item[i] >= r->num_items())
          __builtin_trap();  // an index outside the shared id tables
    }
    if (s.train.size() + s.test.size() < 2 || s.test.size() < 1 || s.train.size() < 1) __builtin_trap();
  } catch (const rkhs::Error&) {
  }
  return 0;
}
