// The AutoRec prediction shrunk towards the bias model by the item's number of training ratings.
#include "rkhs/kernelnet/blend.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rkhs/error.h"

namespace rkhs::kernelnet {

std::vector<double> shrinkage_grid() {
  return {0, 1, 3, 10, 30, 100, 300, 1000, std::numeric_limits<double>::infinity()};
}

double shrink(double a, double b, double n, double c) {
  if (c == 0) return a;
  if (std::isinf(c)) return b;
  return b + n / (n + c) * (a - b);
}

double shrinkage_rmse(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& n,
                      const std::vector<float>& target, double c, float lo, float hi) {
  RKHS_CHECK(!target.empty() && a.size() == target.size() && b.size() == target.size() && n.size() == target.size(),
             "shrinkage: predictions, counts and targets must be non-empty and of one length");
  double sum = 0;
  for (size_t k = 0; k < target.size(); ++k) {
    const double d = std::clamp(shrink(a[k], b[k], n[k], c), double(lo), double(hi)) - double(target[k]);
    sum += d * d;
  }
  return std::sqrt(sum / double(target.size()));
}

Shrinkage choose_shrinkage(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& n,
                           const std::vector<float>& target, const std::vector<double>& grid, float lo, float hi) {
  RKHS_CHECK(!grid.empty(), "shrinkage: empty grid");
  Shrinkage s;
  s.grid = grid;
  double best = std::numeric_limits<double>::infinity();
  for (double c : grid) {
    RKHS_CHECK(c >= 0 && !std::isnan(c), "shrinkage: c must be >= 0");
    const double e = shrinkage_rmse(a, b, n, target, c, lo, hi);
    s.validation_rmse.push_back(e);
    if (e < best) {
      best = e;
      s.c = c;
    }
  }
  return s;
}

}  // namespace rkhs::kernelnet
