// Cost of the convolutional kernel network of paper 003 (issue 5's 3-layer configuration: 64/64/128 filters, 3x3
// patches, subsampling 2/2/2, sigma 0.6) on 28x28 images: one supervised SGD step (batch 128: forward in training
// mode with the Nystrom maps recomputed from the filters, cross-entropy of a fixed linear classifier, backward
// through the layers and the inverse square roots, update, filters re-projected to the sphere) and the feature
// extraction of evaluation mode (batch 256, cached Nystrom maps, no gradient). Items are images. Float32, CPU,
// RKHS_BENCH_THREADS threads (default 1).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "bench_common.h"
#include "rkhs/ckn/network.h"

namespace {

rkhs::ckn::Network make_network() {
  torch::manual_seed(0);
  return rkhs::ckn::Network(rkhs::ckn::NetworkOptions{});  // the defaults are the 64/64/128 configuration
}

void BM_CKNSupervisedStep(benchmark::State& state) {
  rkhs::bench::set_threads();
  auto net = make_network();
  const int64_t batch = 128;
  auto x = torch::randn({batch, 1, 28, 28});
  auto y = torch::randint(0, 10, {batch}, torch::kLong);
  auto w = torch::randn({10, net->feature_dim(28, 28)}) * 0.01;
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  net->train();
  for (auto _ : state) {
    opt.zero_grad();
    auto loss = torch::cross_entropy_loss(net->features(x).mm(w.t()), y);
    loss.backward();
    opt.step();
    for (size_t l = 0; l < net->depth(); ++l) net->layer(l)->normalize_filters();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_CKNExtract(benchmark::State& state) {
  rkhs::bench::set_threads();
  auto net = make_network();
  auto x = torch::randn({256, 1, 28, 28});
  for (auto _ : state) benchmark::DoNotOptimize(net->extract(x).data_ptr());
  state.SetItemsProcessed(state.iterations() * x.size(0));
}

}  // namespace

BENCHMARK(BM_CKNSupervisedStep)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CKNExtract)->Unit(benchmark::kMillisecond);
