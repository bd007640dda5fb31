#pragma once
// Float64 references for the kernel tests: plain loops with <cmath>, independent of the torch code under test.
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace kernel_test {

using Ref = std::function<double(const std::vector<double>&, const std::vector<double>&)>;

inline double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}
inline double sqdist(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += (x[i] - y[i]) * (x[i] - y[i]);
  return s;
}
inline double arccos_ref(const std::vector<double>& x, const std::vector<double>& y, int order) {
  const double pi = std::acos(-1.0);
  const double nx = std::sqrt(dot(x, x)), ny = std::sqrt(dot(y, y));
  const double c = std::max(-1.0, std::min(1.0, dot(x, y) / (nx * ny)));
  const double theta = std::acos(c);
  if (order == 0) return (pi - theta) / pi;
  return nx * ny * (std::sin(theta) + (pi - theta) * std::cos(theta)) / pi;
}
inline double series_ref(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& a,
                         double eps) {
  const double t = dot(x, y) / std::sqrt(dot(x, x) * dot(y, y));
  const double top = t >= 1 - eps ? 1 : 0, bottom = t <= -1 + eps ? 1 : 0;
  double k = a[0] * (top + bottom) + a[1] * (top - bottom);
  for (size_t m = 0; m + 2 < a.size(); ++m) k += a[m + 2] * std::pow(t, static_cast<double>(m));
  return k;
}

struct Case {
  std::string spec;
  Ref ref;
  bool sphere;         // inputs drawn on the unit sphere
  double scale = 0.6;  // standard deviation of the inputs otherwise
};

// Every kernel, with defaults and with non-default keys.
inline std::vector<Case> cases() {
  const std::vector<double> alpha = {0.5, 0.2, 1, 0.3, 0.1, 2};
  return {
      {"linear", [](auto& x, auto& y) { return dot(x, y); }, false},
      {"polynomial", [](auto& x, auto& y) { return std::pow(dot(x, y) + 1, 3); }, false},
      {"polynomial:degree=2,offset=0.5,scale=0.25",
       [](auto& x, auto& y) { return std::pow(0.25 * dot(x, y) + 0.5, 2); }, false},
      {"rbf", [](auto& x, auto& y) { return std::exp(-sqdist(x, y)); }, false},
      {"rbf:gamma=0.3", [](auto& x, auto& y) { return std::exp(-0.3 * sqdist(x, y)); }, false},
      {"rbf:sigma=2", [](auto& x, auto& y) { return std::exp(-sqdist(x, y) / 8); }, false},
      {"laplacian", [](auto& x, auto& y) { return std::exp(-std::sqrt(sqdist(x, y))); }, false},
      {"laplacian:gamma=0.7", [](auto& x, auto& y) { return std::exp(-0.7 * std::sqrt(sqdist(x, y))); }, false},
      {"expdot", [](auto& x, auto& y) { return std::exp((dot(x, y) - 1) / 0.36); }, true},
      {"expdot:sigma=1.3", [](auto& x, auto& y) { return std::exp((dot(x, y) - 1) / 1.69); }, true},
      {"arccos:order=0", [](auto& x, auto& y) { return arccos_ref(x, y, 0); }, false},
      {"arccos", [](auto& x, auto& y) { return arccos_ref(x, y, 1); }, false},
      {"tanh", [](auto& x, auto& y) { return std::tanh(dot(x, y)); }, false},
      {"tanh:scale=0.5,offset=-0.2", [](auto& x, auto& y) { return std::tanh(0.5 * dot(x, y) - 0.2); }, false},
      {"finite", [](auto& x, auto& y) { return std::max(0.0, 1 - sqdist(x, y)); }, false, 0.3},
      {"finite:a=2", [](auto& x, auto& y) { return std::max(0.0, 1 - 2 * sqdist(x, y)); }, false, 0.2},
      {"series", [](auto& x, auto& y) { return series_ref(x, y, std::vector<double>(13, 1.0), 1e-6); }, true},
      {"series:eps=0", [](auto& x, auto& y) { return series_ref(x, y, std::vector<double>(13, 1.0), 0); }, true},
      {"series:order=3,eps=0.01,alpha=0.5;0.2;1;0.3;0.1;2",
       [alpha](auto& x, auto& y) { return series_ref(x, y, alpha, 0.01); }, true},
      {"series:order=3,eps=0.01,alpha=0;0;1;0.3;0.1;2",
       [](auto& x, auto& y) { return series_ref(x, y, {0, 0, 1, 0.3, 0.1, 2}, 0.01); }, true},
  };
}

// (n, d) float64 inputs: standard normal scaled by `scale`, or L2-normalised rows when `sphere`.
inline torch::Tensor inputs(int64_t n, int64_t d, bool sphere, double scale = 0.6) {
  auto x = torch::randn({n, d}, torch::kFloat64) * scale;
  if (sphere) x = x / x.norm(2, 1, true);
  return x;
}

inline std::vector<double> row(const torch::Tensor& x, int64_t i) {
  auto r = x[i].contiguous();
  return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
}

}  // namespace kernel_test
