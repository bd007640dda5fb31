// main() of the microbenchmarks: the allocator settings of the `rkhs` tool (rkhs/memory.h), so that timings match
// the CLI's, then Google Benchmark's usual main.
#include <benchmark/benchmark.h>

#include "rkhs/memory.h"

int main(int argc, char** argv) {
  rkhs::keep_freed_memory();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
