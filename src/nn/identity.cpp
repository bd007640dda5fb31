#include <torch/torch.h>

#include <numeric>
#include <sstream>

#include "rkhs/error.h"
#include "rkhs/nn/backbones.h"

namespace rkhs::nn {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

void check_input_shape(const torch::Tensor& x, const std::vector<int64_t>& shape, const std::string& who) {
  bool ok = x.dim() == static_cast<int64_t>(shape.size()) + 1;
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = x.size(static_cast<int64_t>(i) + 1) == shape[i];
  RKHS_CHECK(ok, who + ": expected input (B, " + shape_string(shape).substr(1) + ", found " +
                     shape_string(x.sizes().vec()));
}

IdentityBackboneImpl::IdentityBackboneImpl(std::vector<int64_t> input_shape) : input_shape_(std::move(input_shape)) {
  RKHS_CHECK(!input_shape_.empty(), "identity backbone: input_shape is empty");
  for (auto s : input_shape_) RKHS_CHECK(s > 0, "identity backbone: invalid input shape " + shape_string(input_shape_));
  dim_ = std::accumulate(input_shape_.begin(), input_shape_.end(), int64_t{1}, std::multiplies<int64_t>());
}

torch::Tensor IdentityBackboneImpl::forward(const torch::Tensor& x) {
  check_input_shape(x, input_shape_, "identity backbone");
  return x.reshape({x.size(0), dim_});
}

}  // namespace rkhs::nn
