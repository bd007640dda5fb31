#pragma once
// Helpers shared by the microbenchmarks.
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>

namespace rkhs::bench {

// Intra-op threads for a benchmark: RKHS_BENCH_THREADS (default 1, so that timings do not depend on the machine's
// core count).
inline void set_threads() {
  const char* t = std::getenv("RKHS_BENCH_THREADS");
  torch::set_num_threads(t ? std::max(1, std::atoi(t)) : 1);
}

}  // namespace rkhs::bench
