// Cost of one full-batch loss + gradient evaluation of the item-based AutoRec on a MovieLens-sized matrix (the unit
// of work of every L-BFGS iteration): dense (I-AutoRec), kernelNet (tanh, d = 50) and sparse FC (d = 5) layers,
// n_items x n_users = 9066 x 671 (the dslabs ratings), hidden 500, 2 hidden layers, 1.6% observed. Float32, CPU,
// RKHS_BENCH_THREADS threads (default 1).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>

#include "rkhs/kernelnet/autorec.h"

namespace {

void threads() {
  const char* t = std::getenv("RKHS_BENCH_THREADS");
  torch::set_num_threads(t ? std::max(1, std::atoi(t)) : 1);
}

void BM_AutoRecLossAndGradient(benchmark::State& state, const char* layer, int64_t dim) {
  threads();
  torch::manual_seed(0);
  const int64_t items = 9066, users = 671;
  auto mask = (torch::rand({items, users}) < 0.016).to(torch::kFloat);
  auto r = mask * torch::randint(1, 6, {items, users}).to(torch::kFloat);
  rkhs::kernelnet::AutoRecOptions o;
  o.layer = layer;
  o.layers = 2;
  o.hidden = 500;
  o.layer_options.dim = dim;
  rkhs::kernelnet::AutoRec model(users, o);
  for (auto _ : state) {
    model->zero_grad();
    auto loss = 0.5 * (mask * (r - model->forward(r))).square().sum() + model->penalty();
    loss.backward();
    benchmark::DoNotOptimize(loss.item<float>());
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_AutoRecLossAndGradient, dense, "dense", 5)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AutoRecLossAndGradient, kernelnet_d50, "kernel", 50)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AutoRecLossAndGradient, sparse_fc_d5, "sparse", 5)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
