// rkhs embed: the 2-D kernelNet embedding network (paper 004 §3.3) trained as a classifier or an autoencoder.
#include "rkhs/jobs/embed_job.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/kernels/distance.h"
#include "rkhs/core/device.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/loss_meter.h"
#include "rkhs/core/run_folder.h"

namespace rkhs::jobs {

using json = nlohmann::json;

namespace {

// Embeds x in batches of 1024.
at::Tensor embed_all(kernelnet::EmbeddingNet& net, const at::Tensor& x, int64_t* empty) {
  std::vector<at::Tensor> parts;
  int64_t total_empty = 0;
  for (int64_t i = 0; i < x.size(0); i += 1024) {
    int64_t e = 0;
    parts.push_back(net->embed(x.slice(0, i, std::min(i + 1024, x.size(0))), &e));
    total_empty += e;
  }
  if (empty) *empty = total_empty;
  return torch::cat(parts);
}

// Accuracy of the k nearest embedded training points' majority vote (ties: the smallest label).
double knn_accuracy(const at::Tensor& train_e, const at::Tensor& train_y, const at::Tensor& test_e,
                    const at::Tensor& test_y, int64_t k, int64_t classes) {
  int64_t correct = 0;
  for (int64_t i = 0; i < test_e.size(0); i += 1024) {
    auto q = test_e.slice(0, i, std::min(i + 1024, test_e.size(0)));
    auto idx = std::get<1>(kernels::squared_distances_direct(q, train_e).topk(k, 1, /*largest=*/false));
    auto votes = torch::zeros({q.size(0), classes}, idx.options());
    votes.scatter_add_(1, train_y.index({idx}), torch::ones_like(idx));
    correct += votes.argmax(1).eq(test_y.slice(0, i, i + q.size(0))).sum().item<int64_t>();
  }
  return double(correct) / double(test_e.size(0));
}

}  // namespace

namespace {

// Stage 1, load: the data (the autoencoder's inputs must lie in [0, 1] and are not standardised: it reconstructs
// them with a per-pixel cross-entropy).
DataSplit load_embed_data(EmbedConfig& c, bool autoencoder) {
  RKHS_CHECK(!c.out_dir.empty(), "rkhs embed needs --out DIR (it writes the embedding and its plot there)");
  RKHS_CHECK(c.epochs >= 1 && c.batch_size >= 1 && c.lr > 0, "embed: epochs, batch size and lr must be positive");
  if (autoencoder) c.data.standardize = false;
  DataSplit data = load_data(c.data);
  if (autoencoder)
    for (const auto* part : {&data.train, &data.test}) {
      const double lo = part->x.min().item<double>(), hi = part->x.max().item<double>();
      RKHS_CHECK(lo >= 0 && hi <= 1, "embed --objective autoencoder: inputs must lie in [0, 1] (per-pixel "
                                     "cross-entropy), got values in [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "] in " + data.description);
    }
  return data;
}

// Stage 2, fit: Adam on the classifier's mean cross-entropy, or the autoencoder's per-pixel cross-entropy summed
// over the pixels and averaged over the batch, in the training kit's loop. Returns the loop's report (the epochs'
// mean losses, the training seconds).
core::LoopReport fit_embedding(kernelnet::EmbeddingNet& net, const at::Tensor& x, const at::Tensor& y,
                               const EmbedConfig& c, bool autoencoder, int64_t* parameters) {
  std::vector<at::Tensor> params;
  for (auto& p : net->parameters())
    if (p.requires_grad()) params.push_back(p);
  for (const auto& p : params) *parameters += p.numel();
  torch::optim::Adam opt(params, torch::optim::AdamOptions(c.lr));
  // Several processes (docs/DISTRIBUTED.md): every rank starts from rank 0's parameters and takes its share of each
  // global batch; the gradients are summed over the ranks while each backward pass runs.
  auto& dist = core::DistWorld::get();
  dist.broadcast(params, 0, "the initial parameters");
  const auto overlapped = dist.overlapped_gradients(params);
  const int64_t n = x.size(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  at::Tensor perm, pending;
  core::LoopOptions lo;
  lo.who = "embed";
  lo.epochs = c.epochs;
  lo.epoch_label = true;
  lo.steps = (n + c.batch_size - 1) / c.batch_size;
  lo.progress = c.progress;
  core::LoopHooks hooks;
  core::LossMeter meter;
  lo.report_every = core::report_interval(x.device());
  hooks.begin_pass = [&](int64_t) {
    net->train();
    meter.clear();
    perm = torch::randperm(n, gen).to(x.device());
  };
  hooks.step = [&](const core::Step& s) {
    const int64_t b = s.index * c.batch_size;
    auto idx = perm.slice(0, b, std::min(b + c.batch_size, n));
    const int64_t global = idx.size(0);
    idx = dist.share_of(idx);
    opt.zero_grad();
    auto xb = x.index({idx});
    if (idx.size(0) == 0) {
      pending = core::zero_through(params, x.options());
    } else {
      auto out = net->forward(xb);
      pending = autoencoder ? torch::binary_cross_entropy_with_logits(out, xb, {}, {}, at::Reduction::Sum) /
                                  double(xb.size(0))
                            : torch::cross_entropy_loss(out, y.index({idx}));
      pending = pending * (double(idx.size(0)) / double(global));  // the share's fraction (1 in one process)
    }
    meter.add(dist.sum_over_ranks(pending, "the loss of batch " + std::to_string(s.index + 1)), double(global));
    return meter.finish(s);
  };
  hooks.update = [&](const core::Step& s) {
    dist.backward_and_sum(overlapped.get(), [&] { if (pending.requires_grad()) pending.backward(); }, params,
                          "the gradients of batch " + std::to_string(s.index + 1));
    opt.step();
  };
  return core::run_loop(lo, hooks);
}

// Stage 3, evaluate: test accuracy (classifier) or reconstruction (autoencoder), the test embedding and the
// k-NN accuracy in the plane. Returns the test predictions (empty for the autoencoder) and the test embedding.
std::pair<at::Tensor, at::Tensor> evaluate_embedding(kernelnet::EmbeddingNet& net, const at::Tensor& x,
                                                     const at::Tensor& y, const data::Dataset& test,
                                                     bool autoencoder, int64_t classes, EmbedResult& r) {
  net->eval();
  const auto tx = test.x.reshape({test.size(), -1}).to(x.device());
  const auto ty = test.y.to(x.device());
  at::Tensor outputs;
  {
    torch::NoGradGuard g;
    std::vector<at::Tensor> parts;
    for (int64_t i = 0; i < tx.size(0); i += 1024) parts.push_back(net->forward(tx.slice(0, i, std::min(i + 1024, tx.size(0)))));
    outputs = torch::cat(parts);
  }
  at::Tensor pred = torch::zeros({0}, ty.options());
  if (autoencoder) {
    r.test_reconstruction_bce =
        torch::binary_cross_entropy_with_logits(outputs, tx, {}, {}, at::Reduction::Sum).item<double>() /
        double(tx.size(0));
    r.test_reconstruction_mse = (outputs.sigmoid() - tx).square().mean().item<double>();
  } else {
    pred = outputs.argmax(1);
    r.test_accuracy = pred.eq(ty).to(torch::kDouble).mean().item<double>();
  }
  const auto test_e = embed_all(net, tx, &r.empty_test);
  const int64_t m = std::min<int64_t>(x.size(0), 10000);  // the first 10,000 training points (shuffled by the split)
  const auto train_e = embed_all(net, x.slice(0, 0, m), nullptr);
  r.knn_accuracy = knn_accuracy(train_e, y.slice(0, 0, m), test_e, ty, 5, classes);
  return {pred.cpu(), test_e.cpu()};
}

// Stage 4, report: OUT/embedding.csv (x, y, label and, for the classifier, the prediction) and OUT/config.json.
void write_embedding(const EmbedConfig& c, const at::Tensor& test_e, const at::Tensor& labels,
                     const at::Tensor& predicted, bool autoencoder, EmbedResult& r) {
  core::RunFolder run(c.out_dir);
  std::string csv = autoencoder ? "x,y,label\n" : "x,y,label,predicted\n";
  auto e = test_e.accessor<float, 2>();
  auto ly = labels.accessor<int64_t, 1>();
  auto lp = predicted.accessor<int64_t, 1>();
  char line[96];
  for (int64_t i = 0; i < test_e.size(0); ++i) {
    if (autoencoder)
      std::snprintf(line, sizeof line, "%.6f,%.6f,%lld\n", e[i][0], e[i][1], (long long)ly[i]);
    else
      std::snprintf(line, sizeof line, "%.6f,%.6f,%lld,%lld\n", e[i][0], e[i][1], (long long)ly[i],
                    (long long)lp[i]);
    csv += line;
  }
  run.write_text("embedding.csv", csv);
  r.csv_path = c.out_dir + "/embedding.csv";
  run.write_text("config.json", r.to_json(c) + "\n");
}

}  // namespace

EmbedResult run_embed(EmbedConfig c) {
  const bool autoencoder = c.net.objective == "autoencoder";
  DataSplit data = load_embed_data(c, autoencoder);
  EmbedResult r;
  core::DistWorld::get().check_same("configuration", r.to_json(c) + " data " + data.description + " " +
                                                         std::to_string(data.train.size()));
  r.description = data.description;
  c.net.input_dim = data.train.x[0].numel();
  c.net.classes = data.train.num_classes;
  const auto device = compat::parse_device(c.device);
  torch::manual_seed(c.seed);
  kernelnet::EmbeddingNet net(c.net);
  net->to(device);
  const auto x = data.train.x.reshape({data.train.size(), -1}).to(device);
  const auto y = data.train.y.to(device);
  const auto report = fit_embedding(net, x, y, c, autoencoder, &r.parameters);
  r.train_seconds = report.seconds;
  for (const auto& e : report.epochs) r.train_loss.push_back(e.mean_loss);
  r.world_size = core::DistWorld::get().size();
  r.comm_seconds = core::DistWorld::get().comm_seconds();
  if (!core::DistWorld::get().is_root()) return r;  // rank 0 alone evaluates and writes
  const auto [pred, test_e] = evaluate_embedding(net, x, y, data.test, autoencoder, c.net.classes, r);
  write_embedding(c, test_e, data.test.y, pred, autoencoder, r);
  return r;
}

std::string EmbedResult::to_json(const EmbedConfig& c) const {
  json j;
  j["command"] = "embed";
  j["data"] = c.data.spec;
  j["data_description"] = description;
  j["seed"] = c.seed;
  j["device"] = c.device;
  j["epochs"] = c.epochs;
  j["grid"] = c.net.grid;
  j["eta"] = c.net.eta;
  j["encoder"] = c.net.encoder;
  j["decoder"] = c.net.decoder;
  j["parameters"] = parameters;
  j["objective"] = c.net.objective;
  if (c.net.objective == "autoencoder") {
    j["test_accuracy"] = nullptr;  // an autoencoder has no classifier; the 2-D embedding's 5-NN accuracy remains
    j["test_reconstruction_bce"] = test_reconstruction_bce;
    j["test_reconstruction_mse"] = test_reconstruction_mse;
  } else {
    j["test_accuracy"] = test_accuracy;
  }
  j["knn_accuracy"] = knn_accuracy;
  j["empty_test"] = empty_test;
  j["train_seconds"] = train_seconds;
  j["train_loss"] = train_loss;
  j["world_size"] = world_size;
  j["comm_seconds"] = comm_seconds;
  j["embedding_csv"] = csv_path;
  return j.dump();
}

}  // namespace rkhs::jobs
