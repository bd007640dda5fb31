// User + item bias baseline with exact alternating ridge updates.
#include "rkhs/kernelnet/bias_baseline.h"

#include <algorithm>
#include <cmath>

#include "rkhs/error.h"

namespace rkhs::kernelnet {

BiasModel fit_bias(const data::Ratings& train, double lambda, int sweeps) {
  RKHS_CHECK(train.size() > 0, "bias baseline: no training ratings");
  RKHS_CHECK(lambda >= 0 && std::isfinite(lambda), "bias baseline: lambda must be finite and >= 0");
  BiasModel m;
  double sum = 0;
  for (float r : train.rating) sum += r;
  m.mu = sum / double(train.size());
  m.user_bias.assign(static_cast<size_t>(train.num_users()), 0.0);
  m.item_bias.assign(static_cast<size_t>(train.num_items()), 0.0);
  std::vector<double> acc, count;
  for (int s = 0; s < sweeps; ++s) {
    // b_i = sum_u (r - mu - b_u) / (n_i + lambda), then the same for b_u: each the exact minimiser given the other.
    for (int block = 0; block < 2; ++block) {
      auto& target = block == 0 ? m.item_bias : m.user_bias;
      const auto& other = block == 0 ? m.user_bias : m.item_bias;
      const auto& own_index = block == 0 ? train.item : train.user;
      const auto& other_index = block == 0 ? train.user : train.item;
      acc.assign(target.size(), 0.0);
      count.assign(target.size(), 0.0);
      for (int64_t k = 0; k < train.size(); ++k) {
        acc[own_index[k]] += train.rating[k] - m.mu - other[other_index[k]];
        count[own_index[k]] += 1;
      }
      for (size_t j = 0; j < target.size(); ++j) target[j] = count[j] + lambda > 0 ? acc[j] / (count[j] + lambda) : 0.0;
    }
  }
  return m;
}

double bias_rmse(const BiasModel& m, const data::Ratings& r, float lo, float hi) {
  RKHS_CHECK(r.size() > 0, "RMSE of an empty ratings set");
  double sum = 0;
  for (int64_t k = 0; k < r.size(); ++k) {
    const double d = std::clamp(m.predict(r.user[k], r.item[k]), double(lo), double(hi)) - r.rating[k];
    sum += d * d;
  }
  return std::sqrt(sum / double(r.size()));
}

BiasSelection select_bias(const data::Ratings& train, const std::vector<double>& grid, double validation_fraction,
                          uint64_t seed) {
  RKHS_CHECK(!grid.empty(), "bias baseline: empty lambda grid");
  auto [fit_part, validation] = data::split_ratings(train, validation_fraction, seed);
  const float lo = train.min_rating(), hi = train.max_rating();
  BiasSelection sel;
  sel.grid = grid;
  double best = INFINITY;
  for (double lambda : grid) {
    const double e = bias_rmse(fit_bias(fit_part, lambda), validation, lo, hi);
    sel.validation_rmse.push_back(e);
    if (e < best) {
      best = e;
      sel.lambda = lambda;
    }
  }
  sel.model = fit_bias(train, sel.lambda);
  return sel;
}

}  // namespace rkhs::kernelnet
