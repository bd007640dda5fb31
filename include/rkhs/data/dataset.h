#pragma once
// A labelled data set in memory: the unit every loader and generator produces.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rkhs::data {

struct Dataset {
  at::Tensor x;                      // (n, ...) float32 features; images are (n, C, H, W)
  at::Tensor y;                      // (n,) int64 labels in [0, num_classes)
  int64_t num_classes = 0;
  std::string name;                  // "sphere", "fashion-mnist", the file path, ...

  int64_t size() const { return x.defined() ? x.size(0) : 0; }
  // Feature shape of one sample, e.g. {3} or {1, 28, 28}.
  std::vector<int64_t> sample_shape() const;
  // Rows idx (an int64 index tensor) of x and y, same num_classes and name.
  Dataset subset(const at::Tensor& idx) const;
};

}  // namespace rkhs::data
