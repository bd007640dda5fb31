#pragma once
// Helpers shared by the head implementations (private to src/classify).
#include <cmath>
#include <sstream>
#include <string>
#include <utility>

#include "rkhs/classify/head.h"
#include "rkhs/error.h"

namespace rkhs::classify::detail {

// Throws rkhs::Error unless dim > 0 and classes > 0.
inline void check_dims(const HeadOptions& o, const std::string& head) {
  RKHS_CHECK(o.dim > 0, head + " head: embedding dimension must be positive, got " + std::to_string(o.dim));
  RKHS_CHECK(o.classes > 0, head + " head: number of classes must be positive, got " + std::to_string(o.classes));
  RKHS_CHECK(std::isfinite(o.temperature), head + " head: temperature must be finite (<= 0 means the default)");
}

// Shortest natural formatting of a double: 1, 0.1, 0.005, 1e-06.
inline std::string fmt(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// Checks z is (B, dim) and floating point.
void check_input(const at::Tensor& z, int64_t dim, const std::string& head);

// (C, d) class weights ~ N(0, 1/d): used by the heads that normalise w (only the direction matters).
at::Tensor sphere_weight_init(int64_t classes, int64_t dim);

// torch::nn::Linear's default initialisation: U(-1/sqrt(in), 1/sqrt(in)) for weight (out, in) and bias (out,).
std::pair<at::Tensor, at::Tensor> linear_init(int64_t out, int64_t in);

}  // namespace rkhs::classify::detail
