// Cost of one full-batch loss + gradient evaluation of the item-based AutoRec on a MovieLens-sized matrix (the unit
// of work of every L-BFGS iteration): dense (I-AutoRec), kernelNet (tanh, d = 50) and sparse FC (d = 5) layers,
// n_items x n_users = 9066 x 671 (the dslabs ratings), hidden 500, 2 hidden layers, 1.6% observed. Float32, CPU,
// RKHS_BENCH_THREADS threads (default 1). Two forms of the same loss: "dense" runs the network on the full
// (items, users) matrix and masks the loss (the textbook form), "observed" is what fit_autorec trains with (an
// embedding bag over the ratings in, the output layer at the rated pairs only). The observed form reports its rate in
// GFLOP/s (counter "GFLOPs") next to BM_Gemm, the machine's rate on the product that dominates it (issue 27).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bench_common.h"
#include "rkhs/kernelnet/autorec.h"

namespace {

// state.range(0): hidden layers (1 or 2); state.range(1): 1 = observed form, 0 = dense form.
void BM_AutoRecLossAndGradient(benchmark::State& state, const char* layer, int64_t dim) {
  rkhs::bench::set_threads();
  torch::manual_seed(0);
  const int64_t items = 9066, users = 671;
  auto mask = (torch::rand({items, users}) < 0.016).to(torch::kFloat);
  auto r = mask * torch::randint(1, 6, {items, users}).to(torch::kFloat);
  rkhs::data::Ratings ratings;
  for (int64_t u = 0; u < users; ++u) ratings.user_ids.push_back(u);
  for (int64_t i = 0; i < items; ++i) ratings.item_ids.push_back(i);
  auto nz = mask.nonzero();
  for (int64_t k = 0; k < nz.size(0); ++k) {
    const int64_t i = nz[k][0].item<int64_t>(), u = nz[k][1].item<int64_t>();
    ratings.item.push_back(i);
    ratings.user.push_back(u);
    ratings.rating.push_back(r[i][u].item<float>());
  }
  const auto observed = rkhs::kernelnet::observed_ratings(ratings);
  rkhs::kernelnet::AutoRecOptions o;
  o.layer = layer;
  o.layers = state.range(0);
  o.hidden = 500;
  o.layer_options.dim = dim;
  rkhs::kernelnet::AutoRec model(users, o);
  for (auto _ : state) {
    model->zero_grad();
    auto fit = state.range(1) ? (model->forward_observed(observed, observed.item, observed.user) - observed.rating)
                                    .square()
                                    .sum()
                              : (mask * (r - model->forward(r))).square().sum();
    auto loss = 0.5 * fit + model->penalty();
    loss.backward();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  if (state.range(1)) {
    // The observed form's multiply-adds, x2 flops, x3 for forward + the two backward products: the hidden
    // layers' items x hidden x hidden products, and the input and output layers at the ratings (hidden each).
    const double hidden = 500, nnz = double(observed.rating.size(0));
    const double flops = 6.0 * (double(items) * hidden * hidden * double(state.range(0) - 1) + 2 * nnz * hidden);
    state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  }
}

// The machine's matrix-product rate on the AutoRec's dominant shape (items x hidden times hidden x hidden).
void BM_Gemm(benchmark::State& state) {
  rkhs::bench::set_threads();
  torch::manual_seed(0);
  const int64_t items = 9066, hidden = 500;
  auto a = torch::randn({items, hidden}), b = torch::randn({hidden, hidden});
  for (auto _ : state) benchmark::DoNotOptimize(a.mm(b).data_ptr<float>());
  state.counters["GFLOPs"] =
      benchmark::Counter(2.0 * items * hidden * hidden / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Gemm)->Unit(benchmark::kMillisecond);

}  // namespace

#define RKHS_AUTOREC_BENCH(name, layer, dim)                                     \
  BENCHMARK_CAPTURE(BM_AutoRecLossAndGradient, name, layer, dim)                 \
      ->ArgNames({"layers", "observed"})                                         \
      ->ArgsProduct({{1, 2}, {0, 1}})                                            \
      ->Unit(benchmark::kMillisecond)
RKHS_AUTOREC_BENCH(dense, "dense", 5);
RKHS_AUTOREC_BENCH(kernelnet_d50, "kernel", 50);
RKHS_AUTOREC_BENCH(sparse_fc_d5, "sparse", 5);
