// Seeded shuffles shared by the data generators and splitters (internal). Fisher-Yates with
// std::uniform_int_distribution: deterministic for one standard library.
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace rkhs::data::detail {

inline void shuffle(std::vector<int64_t>& v, std::mt19937_64& rng) {
  for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i) {
    std::uniform_int_distribution<int64_t> pick(0, i);
    std::swap(v[i], v[pick(rng)]);
  }
}

// A random permutation of 0..n-1.
inline std::vector<int64_t> permutation(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  shuffle(p, rng);
  return p;
}

}  // namespace rkhs::data::detail
