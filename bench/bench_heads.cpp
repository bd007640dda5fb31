// Forward + backward cost of a classification head against the linear softmax head (paper 000 §5.2 claims a
// negligible added cost: O(M + d) per datum and class). Batch 128, float32, CPU.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bench_common.h"
#include "rkhs/classify/head.h"
#include "rkhs/classify/kcl.h"

namespace {

void run_head(benchmark::State& state, const std::string& name, const std::string& normalize = "embedding") {
  rkhs::bench::set_threads();
  const int64_t d = state.range(0), classes = state.range(1), batch = 128;
  torch::manual_seed(0);
  rkhs::classify::HeadOptions o;
  o.name = name;
  o.dim = d;
  o.classes = classes;
  o.normalize = normalize;
  auto head = rkhs::classify::make_head(o);
  auto z = torch::randn({batch, d}).requires_grad_(true);
  auto y = torch::randint(classes, {batch}, torch::kLong);
  for (auto _ : state) {
    auto loss = torch::cross_entropy_loss(head->forward(z), y);
    loss.backward();
    benchmark::DoNotOptimize(loss.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// The kernelized head's logits as the composition of ATen ops (kcl_logits_reference, the head's implementation
// before the fused function): the "before" column of the fused CPU path.
void BM_kernelized_unfused(benchmark::State& state) {
  rkhs::bench::set_threads();
  const int64_t d = state.range(0), classes = state.range(1), batch = 128;
  torch::manual_seed(0);
  rkhs::classify::KernelizedHead head(rkhs::classify::KernelizedOptions(d, classes));
  auto z = torch::randn({batch, d}).requires_grad_(true);
  auto y = torch::randint(classes, {batch}, torch::kLong);
  for (auto _ : state) {
    auto logits = rkhs::classify::kcl_logits_reference(z, head->weight, head->alpha(), head->options().indicator_eps(),
                                                       head->temperature());
    auto loss = torch::cross_entropy_loss(logits, y);
    loss.backward();
    benchmark::DoNotOptimize(loss.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void args(benchmark::internal::Benchmark* b) {
  for (int64_t d : {64, 256, 768})
    for (int64_t c : {10, 100, 1000}) b->Args({d, c});
  b->Unit(benchmark::kMicrosecond);
}

// The linear softmax head W z + b (normalize=none) is the reference of the 1.3x overhead target.
void BM_softmax(benchmark::State& s) { run_head(s, "softmax", "none"); }
void BM_cosine(benchmark::State& s) { run_head(s, "cosine"); }
void BM_kernelized(benchmark::State& s) { run_head(s, "kernelized"); }
BENCHMARK(BM_softmax)->Apply(args);
BENCHMARK(BM_cosine)->Apply(args);
BENCHMARK(BM_kernelized)->Apply(args);
BENCHMARK(BM_kernelized_unfused)->Apply(args);

}  // namespace
