#pragma once
// Mini-batch order: a reproducible permutation per epoch.
#include <cstdint>
#include <vector>

namespace rkhs::train {

// The order in which epoch `epoch` (1-based) visits the n training samples: a Fisher-Yates shuffle driven by
// std::mt19937_64 seeded with splitmix64(seed ^ splitmix64(epoch)), using engine() % (i + 1) for the swap index
// (bias < n / 2^64), so the order depends only on (n, seed, epoch) -- not on the standard library's
// distributions, nor on anything that happened in earlier epochs (a resumed run sees the same batches).
// Batch b of size B is elements [b * B, min((b + 1) * B, n)); the last partial batch is kept.
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

// A fixed partition of n samples into ceil(n / B) batches (Kernel SGD's precomputed inverses need the same
// batches every epoch): batch b holds elements [b * B, min((b + 1) * B, n)) of epoch_permutation(n, seed, 0).
std::vector<std::vector<int64_t>> fixed_partition(int64_t n, int64_t batch_size, uint64_t seed);

uint64_t splitmix64(uint64_t x);

}  // namespace rkhs::train
