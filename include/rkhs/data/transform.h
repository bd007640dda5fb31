#pragma once
// Feature standardisation and stratified splits / subsets.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

#include "rkhs/data/dataset.h"

namespace rkhs::data {

// Per-feature standardisation with statistics from the training set only: mean and (population) std over the
// first dimension of x (n, ...), both of shape x.sizes()[1:]; a feature with std 0 gets std 1.
struct Standardizer {
  at::Tensor mean, std;

  static Standardizer fit(const at::Tensor& x);
  // (x - mean) / std, broadcast over the first dimension; keeps x's dtype.
  at::Tensor apply(const at::Tensor& x) const;
  // Dataset with x standardised, everything else unchanged.
  Dataset apply(const Dataset& d) const;
};

// Splits d per class: round(second_fraction * n_c) samples of class c go to the second set, the rest to the
// first; a class with at least two samples keeps at least one in each set (0 < fraction < 1). Deterministic
// by seed; each set keeps the original order of its samples and d's num_classes and name.
std::pair<Dataset, Dataset> stratified_split(const Dataset& d, double second_fraction, uint64_t seed);

// A class-balanced subset of n samples: floor(n/C) per class, the remainder to the lowest classes; a class with
// too few samples gives all it has and the shortfall goes to the others. Deterministic by seed, original order.
Dataset take_stratified(const Dataset& d, int64_t n, uint64_t seed);

}  // namespace rkhs::data
