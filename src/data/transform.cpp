// Standardisation from training statistics, stratified splits and class-balanced subsets.
#include "rkhs/data/transform.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "random.h"
#include "rkhs/error.h"

namespace rkhs::data {

namespace {

using detail::shuffle;

// Sample indices of each class 0..C-1, in order. C = max(num_classes, max label + 1).
std::vector<std::vector<int64_t>> by_class(const Dataset& d) {
  RKHS_CHECK(d.y.defined() && d.y.dim() == 1, "dataset labels must be a 1-D tensor");
  const at::Tensor y = d.y.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t* py = y.data_ptr<int64_t>();
  const int64_t n = y.size(0);
  int64_t C = d.num_classes;
  for (int64_t i = 0; i < n; ++i) {
    RKHS_CHECK(py[i] >= 0, "dataset " + d.name + " has a negative label");
    C = std::max(C, py[i] + 1);
  }
  std::vector<std::vector<int64_t>> out(C);
  for (int64_t i = 0; i < n; ++i) out[py[i]].push_back(i);
  return out;
}

at::Tensor index_tensor(std::vector<int64_t> idx, const at::Tensor& like) {
  std::sort(idx.begin(), idx.end());
  return torch::tensor(idx, torch::kLong).to(like.device());
}

}  // namespace

Standardizer Standardizer::fit(const at::Tensor& x) {
  RKHS_CHECK(x.defined() && x.dim() >= 1 && x.size(0) >= 1, "Standardizer::fit: need at least one sample");
  RKHS_CHECK(x.is_floating_point(), "Standardizer::fit: x must be floating point");
  const at::Tensor xd = x.to(torch::kDouble);
  Standardizer s;
  s.mean = xd.mean(0);
  at::Tensor sd = (xd - s.mean).pow(2).mean(0).sqrt();
  // A constant feature (std 0, up to rounding of the mean) is left unscaled.
  sd = torch::where(sd <= 1e-12 * (s.mean.abs() + 1), torch::ones_like(sd), sd);
  s.mean = s.mean.to(x.scalar_type());
  s.std = sd.to(x.scalar_type());
  return s;
}

at::Tensor Standardizer::apply(const at::Tensor& x) const {
  RKHS_CHECK(mean.defined() && std.defined(), "Standardizer::apply: not fitted");
  RKHS_CHECK(x.dim() == mean.dim() + 1 && x.sizes().slice(1) == mean.sizes(),
             "Standardizer::apply: feature shape differs from the one it was fitted on");
  return (x - mean.to(x.device(), x.scalar_type())) / std.to(x.device(), x.scalar_type());
}

Dataset Standardizer::apply(const Dataset& d) const {
  Dataset out = d;
  out.x = apply(d.x);
  return out;
}

std::pair<Dataset, Dataset> stratified_split(const Dataset& d, double second_fraction, uint64_t seed) {
  RKHS_CHECK(second_fraction >= 0 && second_fraction <= 1,
             "stratified_split: fraction must be in [0, 1], got " + std::to_string(second_fraction));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> first, second;
  for (auto& idx : by_class(d)) {
    const int64_t nc = static_cast<int64_t>(idx.size());
    int64_t k = std::llround(second_fraction * static_cast<double>(nc));
    if (second_fraction > 0 && second_fraction < 1 && nc >= 2) k = std::clamp<int64_t>(k, 1, nc - 1);
    shuffle(idx, rng);
    second.insert(second.end(), idx.begin(), idx.begin() + k);
    first.insert(first.end(), idx.begin() + k, idx.end());
  }
  return {d.subset(index_tensor(first, d.x)), d.subset(index_tensor(second, d.x))};
}

Dataset take_stratified(const Dataset& d, int64_t n, uint64_t seed) {
  RKHS_CHECK(n >= 0 && n <= d.size(), "take_stratified: n = " + std::to_string(n) + " must be in [0, " +
                                          std::to_string(d.size()) + "]");
  auto classes = by_class(d);
  const size_t C = classes.size();
  std::vector<int64_t> quota(C, 0);
  int64_t remaining = n;
  while (remaining > 0) {  // water filling: equal shares, capped by what each class has
    std::vector<size_t> active;
    for (size_t c = 0; c < C; ++c)
      if (quota[c] < static_cast<int64_t>(classes[c].size())) active.push_back(c);
    if (active.empty()) break;
    const int64_t per = remaining / static_cast<int64_t>(active.size());
    const int64_t extra = remaining % static_cast<int64_t>(active.size());
    for (size_t i = 0; i < active.size(); ++i) {
      const size_t c = active[i];
      const int64_t want = per + (static_cast<int64_t>(i) < extra ? 1 : 0);
      const int64_t give = std::min(want, static_cast<int64_t>(classes[c].size()) - quota[c]);
      quota[c] += give;
      remaining -= give;
    }
  }
  std::mt19937_64 rng(seed);
  std::vector<int64_t> keep;
  for (size_t c = 0; c < C; ++c) {
    shuffle(classes[c], rng);
    keep.insert(keep.end(), classes[c].begin(), classes[c].begin() + quota[c]);
  }
  return d.subset(index_tensor(keep, d.x));
}

}  // namespace rkhs::data
