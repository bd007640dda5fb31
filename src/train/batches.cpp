#include "rkhs/train/batches.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>

namespace rkhs::train {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> perm(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  std::mt19937_64 engine(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(epoch))));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(engine() % static_cast<uint64_t>(i + 1));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  return perm;
}

std::vector<std::vector<int64_t>> fixed_partition(int64_t n, int64_t batch_size, uint64_t seed) {
  const auto perm = epoch_permutation(n, seed, 0);
  std::vector<std::vector<int64_t>> out;
  for (int64_t s = 0; s < n; s += batch_size)
    out.emplace_back(perm.begin() + s, perm.begin() + std::min(s + batch_size, n));
  return out;
}

}  // namespace rkhs::train
