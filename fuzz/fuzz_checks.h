#pragma once
// Postconditions every loaded data set must satisfy (shared by the CSV and LIBSVM targets). Checked with plain
// loops: the loaders may legitimately return a 4 GiB matrix, and torch::isfinite would allocate another one.
#include <cmath>

#include "rkhs/data/dataset.h"

namespace rkhs::fuzz {

inline void check_dataset(const rkhs::data::Dataset& d) {
  if (d.y.numel() != d.size()) __builtin_trap();
  const int64_t* y = d.y.data_ptr<int64_t>();
  for (int64_t i = 0; i < d.y.numel(); ++i)
    if (y[i] < 0 || y[i] >= d.num_classes) __builtin_trap();  // a label outside [0, num_classes)
  const float* x = d.x.data_ptr<float>();
  for (int64_t i = 0; i < d.x.numel(); ++i)
    if (!std::isfinite(x[i])) __builtin_trap();  // a NaN or Inf feature
}

}  // namespace rkhs::fuzz
