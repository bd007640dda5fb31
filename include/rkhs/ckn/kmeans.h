#pragma once
// Spherical k-means (paper 003's unsupervised filter learning, REFERENCE.md §4): cluster unit-norm rows by
// cosine similarity. Start from k distinct random rows; repeat: assign each row to the centre of largest
// cosine, move each centre to its members' mean renormalised to unit norm; an empty cluster is re-seeded with
// the row that fits its current centre worst (lowest best cosine, each such row used once). Stops when no
// assignment changes, when the objective (the mean best cosine) changes by at most `tolerance` relative to its
// value (the reference implementation's criterion; 0 disables it) or after max_iterations.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rkhs::ckn {

struct KMeansResult {
  at::Tensor centres;      // (k, d), unit rows
  at::Tensor assignment;   // (n,) int64
  int64_t iterations = 0;
  int64_t reseeded = 0;    // empty clusters re-seeded over all iterations
  double mean_cosine = 0;  // mean over rows of the cosine to their centre
};

// x (n, d) with unit rows (not checked beyond finiteness), k <= n. Deterministic for a given seed.
KMeansResult spherical_kmeans(const at::Tensor& x, int64_t k, int64_t max_iterations, uint64_t seed,
                              double tolerance = 1e-4);

}  // namespace rkhs::ckn
