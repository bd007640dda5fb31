#include "rkhs/data/dataset.h"

#include <torch/torch.h>

namespace rkhs::data {

std::vector<int64_t> Dataset::sample_shape() const {
  if (!x.defined()) return {};
  auto s = x.sizes().vec();
  return std::vector<int64_t>(s.begin() + 1, s.end());
}

Dataset Dataset::subset(const at::Tensor& idx) const {
  Dataset out;
  out.x = x.index_select(0, idx);
  out.y = y.index_select(0, idx);
  out.num_classes = num_classes;
  out.name = name;
  return out;
}

}  // namespace rkhs::data
