// Item-based AutoRec with kernelNet layers, trained by full-batch L-BFGS (paper 004 §3.5; the official code).
#include "rkhs/kernelnet/autorec.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

#include "rkhs/core/device.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/error.h"
#include "rkhs/kernelnet/sparse_ops.h"

namespace rkhs::kernelnet {

ObservedRatings observed_ratings(const data::Ratings& r) {
  const int64_t n = r.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return r.item[a] != r.item[b] ? r.item[a] < r.item[b] : r.user[a] < r.user[b];
  });
  ObservedRatings o;
  o.num_items = r.num_items();
  o.num_users = r.num_users();
  o.item = torch::empty({n}, torch::kLong);
  o.user = torch::empty({n}, torch::kLong);
  o.rating = torch::empty({n}, torch::kFloat);
  auto pi = o.item.accessor<int64_t, 1>();
  auto pu = o.user.accessor<int64_t, 1>();
  auto pr = o.rating.accessor<float, 1>();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t j = order[static_cast<size_t>(k)];
    RKHS_CHECK(r.item[j] >= 0 && r.item[j] < o.num_items && r.user[j] >= 0 && r.user[j] < o.num_users,
               "ratings '" + r.name + "': entry " + std::to_string(j) + " has an index outside the id tables");
    if (k > 0 && r.item[j] == pi[k - 1] && r.user[j] == pu[k - 1])
      throw Error("ratings '" + r.name + "': user " + std::to_string(r.user_ids[r.user[j]]) + " rated item " +
                  std::to_string(r.item_ids[r.item[j]]) + " twice");
    pi[k] = r.item[j];
    pu[k] = r.user[j];
    pr[k] = r.rating[j];
  }
  return o;
}

ObservedRatings ObservedRatings::to(const c10::Device& device) const {
  ObservedRatings o = *this;
  o.item = item.to(device);
  o.user = user.to(device);
  o.rating = rating.to(device);
  return o;
}

AutoRecImpl::AutoRecImpl(int64_t n_users, const AutoRecOptions& o) {
  RKHS_CHECK(n_users > 0, "AutoRec: no users");
  RKHS_CHECK(o.layers >= 1, "AutoRec: at least one hidden layer, got " + std::to_string(o.layers));
  RKHS_CHECK(o.hidden >= 1, "AutoRec: hidden width must be >= 1, got " + std::to_string(o.hidden));
  int64_t in = n_users;
  for (int64_t l = 0; l <= o.layers; ++l) {
    LayerOptions lo = o.layer_options;
    lo.in = in;
    lo.out = l < o.layers ? o.hidden : n_users;
    layers.push_back(register_module(l < o.layers ? "hidden" + std::to_string(l + 1) : "out", make_layer(o.layer, lo)));
    in = lo.out;
  }
}

at::Tensor AutoRecImpl::forward(const at::Tensor& r) {
  at::Tensor y = r;
  for (size_t l = 0; l < layers.size(); ++l) {
    y = layers[l]->forward(y);
    if (l + 1 < layers.size()) y = torch::sigmoid(y);
  }
  return y;
}

at::Tensor AutoRecImpl::encode(const ObservedRatings& input) {
  const auto& first = layers.front();
  auto w = first->weight();  // (hidden, users)
  RKHS_CHECK(input.num_users == w.size(1), "AutoRec: the input has " + std::to_string(input.num_users) +
                                               " users, the model was built for " + std::to_string(w.size(1)));
  // Row i of R W^T = sum over item i's ratings r_iu of W[:, u] (only the observed entries of R multiply).
  auto y = sparse_matmul(input.item, input.user, input.rating.to(w.scalar_type()), input.num_items, w.t());
  y = torch::sigmoid(y + first->bias);
  for (size_t l = 1; l + 1 < layers.size(); ++l) y = torch::sigmoid(layers[l]->forward(y));
  return y;
}

at::Tensor AutoRecImpl::decode_pairs(const at::Tensor& hidden, const at::Tensor& item, const at::Tensor& user) {
  const auto& out = layers.back();
  return pair_dot(hidden, out->weight(), item, user) + out->bias.index_select(0, user);
}

at::Tensor AutoRecImpl::forward_observed(const ObservedRatings& input, const at::Tensor& item, const at::Tensor& user) {
  return decode_pairs(encode(input), item, user);
}

at::Tensor AutoRecImpl::penalty() const {
  at::Tensor p = layers.front()->penalty();
  for (size_t l = 1; l < layers.size(); ++l) p = p + layers[l]->penalty();
  return p;
}

int64_t AutoRecImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l->parameter_count();
  return n;
}

double AutoRecImpl::macs(double observed_inputs) const {
  double total = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const double nz = double(layers[l]->nonzero_weights());
    total += l == 0 ? nz * observed_inputs / double(layers[l]->weight().size(1)) : nz;
  }
  return total;
}

std::pair<at::Tensor, at::Tensor> rating_matrix(const data::Ratings& r) {
  auto m = torch::zeros({r.num_items(), r.num_users()});
  auto mask = torch::zeros({r.num_items(), r.num_users()});
  auto pm = m.accessor<float, 2>();
  auto pk = mask.accessor<float, 2>();
  for (int64_t i = 0; i < r.size(); ++i) {
    pm[r.item[i]][r.user[i]] = r.rating[i];
    pk[r.item[i]][r.user[i]] = 1;
  }
  return {m, mask};
}

int64_t cold_start_ratings(const data::RatingsSplit& split) {
  std::vector<bool> rated(static_cast<size_t>(split.train.num_items()), false);
  for (int64_t i = 0; i < split.train.size(); ++i) rated[static_cast<size_t>(split.train.item[i])] = true;
  int64_t n = 0;
  for (int64_t i = 0; i < split.test.size(); ++i) n += !rated[static_cast<size_t>(split.test.item[i])];
  return n;
}

double rmse(const at::Tensor& predictions, const data::Ratings& r, float lo, float hi) {
  RKHS_CHECK(r.size() > 0, "RMSE of an empty ratings set");
  const auto cpu = predictions.to(torch::kCPU, torch::kFloat);
  auto p = cpu.accessor<float, 2>();
  double sum = 0;
  for (int64_t i = 0; i < r.size(); ++i) {
    const double d = std::clamp(p[r.item[i]][r.user[i]], lo, hi) - double(r.rating[i]);
    sum += d * d;
  }
  return std::sqrt(sum / double(r.size()));
}

double rmse(const at::Tensor& p, const at::Tensor& t, float lo, float hi) {
  RKHS_CHECK(p.numel() > 0 && p.numel() == t.numel(), "RMSE: predictions and targets must be non-empty and match");
  return (p.to(torch::kDouble).clamp(lo, hi) - t.to(torch::kDouble)).square().mean().sqrt().item<double>();
}

namespace {

std::vector<at::Tensor> snapshot(AutoRec& model) {
  std::vector<at::Tensor> params;
  for (const auto& p : model->parameters()) params.push_back(p.detach().clone());
  return params;
}

void restore(AutoRec& model, const std::vector<at::Tensor>& params) {
  torch::NoGradGuard no_grad;
  auto current = model->parameters();
  for (size_t k = 0; k < current.size(); ++k) current[k].copy_(params[k]);
}

void check_fit_inputs(AutoRec& model, const data::RatingsSplit& split, const AutoRecOptions& o,
                      const data::Ratings* validation) {
  RKHS_CHECK(o.outer_loops >= 1 && o.lbfgs_iterations >= 1 && o.lbfgs_history >= 1,
             "AutoRec: outer loops, L-BFGS iterations and history must be >= 1");
  RKHS_CHECK(split.train.size() > 0 && split.test.size() > 0, "AutoRec: empty training or test ratings");
  RKHS_CHECK(!o.keep_best || (validation && validation->size() > 0),
             "AutoRec: keeping the best loop needs validation ratings (e.g. --validation-fraction 0.1)");
  RKHS_CHECK(split.train.num_users() == model->layers.front()->weight().size(1),
             "AutoRec: the model was built for another number of users");
  RKHS_CHECK(split.test.num_items() == split.train.num_items() && split.test.num_users() == split.train.num_users() &&
                 (!validation || (validation->num_items() == split.train.num_items() &&
                                  validation->num_users() == split.train.num_users())),
             "AutoRec: training, test and validation ratings must share one table of users and items");
}

// One outer loop: a fresh optimiser, as the official code (scipy's L-BFGS-B restarted with maxiter per call), run
// on 1/2 sum of squared errors + the model's penalty. Returns the objective at its last evaluation.
// Several processes (docs/DISTRIBUTED.md): the ratings of this rank's share of the items (the AutoRec's rows), the
// items renumbered from 0. Each item's prediction uses only its own ratings, so the shares' squared errors sum to
// the whole objective's.
ObservedRatings item_share(const ObservedRatings& all, const core::DistWorld& dist) {
  if (!dist.active()) return all;
  const auto [begin, end] = core::shard_range(all.num_items, dist.rank(), dist.size());
  const auto keep = ((all.item >= begin) & (all.item < end)).nonzero().flatten();
  ObservedRatings mine = all;
  mine.item = all.item.index({keep}) - begin;
  mine.user = all.user.index({keep});
  mine.rating = all.rating.index({keep});
  mine.num_items = end - begin;
  return mine;
}

// The objective's value on every rank and its gradient in the parameters: with several processes, each rank's
// squared errors (rank 0 adds the penalty) with the gradients and the values summed over the ranks.
at::Tensor objective(AutoRec& model, const ObservedRatings& mine, core::DistWorld& dist) {
  auto p = model->forward_observed(mine, mine.item, mine.user);
  if (!dist.active()) {
    auto loss = 0.5 * (p - mine.rating).square().sum() + model->penalty();
    loss.backward();
    return loss;
  }
  auto local = 0.5 * (p - mine.rating).square().sum() + (dist.is_root() ? 1.0 : 0.0) * model->penalty();
  local.backward();
  dist.all_reduce_gradients(model->parameters(), "the AutoRec gradients");
  return dist.sum_over_ranks(local, "the AutoRec objective");
}

double lbfgs_run(AutoRec& model, const ObservedRatings& train, const AutoRecOptions& o, int64_t loop) {
  torch::optim::LBFGS opt(model->parameters(), torch::optim::LBFGSOptions(1.0)
                                                   .max_iter(o.lbfgs_iterations)
                                                   .max_eval(o.lbfgs_iterations * 4)
                                                   .history_size(o.lbfgs_history)
                                                   .tolerance_grad(1e-9)
                                                   .tolerance_change(1e-12)
                                                   .line_search_fn("strong_wolfe"));
  double last_loss = 0;
  const auto device = train.rating.device();
  auto closure = [&]() -> at::Tensor {
    core::step_done(device);
    opt.zero_grad();
    auto loss = objective(model, train, core::DistWorld::get());
    last_loss = loss.item<double>();
    if (!std::isfinite(last_loss))  // the same value, so the same decision, on every rank
      throw Error("AutoRec training diverged: loss is " + std::to_string(last_loss) + " in outer loop " +
                  std::to_string(loop));
    return loss;
  };
  opt.step(closure);
  return last_loss;
}

}  // namespace

AutoRecResult fit_autorec(AutoRec& model, const data::RatingsSplit& split, const AutoRecOptions& o,
                          const std::function<void(const LoopRecord&)>& on_loop, const data::Ratings* validation) {
  check_fit_inputs(model, split, o, validation);
  const float lo = split.train.min_rating(), hi = split.train.max_rating();
  // The ratings go to the model's device once; the loops and scores run there.
  const auto device = model->layers.front()->weight().device();
  const ObservedRatings train = observed_ratings(split.train).to(device), test = observed_ratings(split.test).to(device);
  std::optional<ObservedRatings> valid;
  if (validation) valid = observed_ratings(*validation).to(device);

  AutoRecResult result;
  result.cold_start_test = cold_start_ratings(split);
  model->train();
  // keep_best: the parameters after the loop with the lowest validation RMSE
  core::BestKeeper<std::vector<at::Tensor>> best;
  const core::Stopwatch clock;
  double last_loss = 0;
  core::LoopHooks hooks;
  // Several processes: every rank starts from rank 0's parameters and fits on its share of the items.
  auto& dist = core::DistWorld::get();
  dist.broadcast(model->parameters(), 0, "the initial AutoRec");
  const ObservedRatings mine = item_share(train, dist);
  hooks.step = [&](const core::Step& s) {
    last_loss = lbfgs_run(model, mine, o, s.epoch);
    return core::StepLoss{last_loss};  // the objective at the loop's last evaluation
  };
  hooks.end_epoch = [&](core::EpochSummary& s) {
    LoopRecord rec;
    rec.loop = s.epoch;
    rec.lambda2 = model->layers.front()->options.lambda2;
    rec.loss = last_loss;
    {
      torch::NoGradGuard no_grad;
      auto h = model->encode(train);
      auto score = [&](const ObservedRatings& r) { return rmse(model->decode_pairs(h, r.item, r.user), r.rating, lo, hi); };
      rec.train_rmse = score(train);
      rec.test_rmse = score(test);
      if (valid) rec.validation_rmse = score(*valid);
    }
    rec.seconds = clock.seconds();
    result.history.push_back(rec);
    if (o.keep_best)
      best.offer(rec.loop, core::Score{-rec.validation_rmse}, [&] { return snapshot(model); });
    char note[160];
    std::snprintf(note, sizeof note, "loss %.6g  train RMSE %.4f  validation RMSE %s  test RMSE %.4f", rec.loss,
                  rec.train_rmse, validation ? std::to_string(rec.validation_rmse).c_str() : "-", rec.test_rmse);
    s.note = note;
    if (on_loop) on_loop(rec);
    return false;
  };
  core::LoopOptions loop;
  loop.label = "loop";
  loop.epoch_label = true;
  loop.epochs = o.outer_loops;
  loop.progress = o.progress;
  loop.progress_loss = false;
  loop.who = "AutoRec";
  core::run_loop(loop, hooks);
  model->eval();
  result.train_seconds = clock.seconds();
  size_t best_index = result.history.size() - 1;
  if (o.keep_best) {
    best_index = static_cast<size_t>(best.epoch() - 1);
    restore(model, best.state());
  }
  const auto& chosen = result.history[best_index];
  result.loop = chosen.loop;
  result.test_rmse = chosen.test_rmse;
  result.train_rmse = chosen.train_rmse;
  result.validation_rmse = chosen.validation_rmse;
  result.parameters = model->parameter_count();
  result.macs = model->macs();
  for (const auto& l : model->layers) {
    result.nonzero_weights += l->nonzero_weights();
    result.weights += l->weight().numel();
  }
  return result;
}

PathResult fit_autorec_path(AutoRec& model, const data::RatingsSplit& split, const AutoRecOptions& o,
                            const std::vector<double>& lambdas, const data::Ratings& validation,
                            const std::function<void(const LoopRecord&)>& on_loop) {
  RKHS_CHECK(!lambdas.empty(), "AutoRec regularisation path: no lambda2 values");
  for (double l : lambdas)
    RKHS_CHECK(std::isfinite(l) && l >= 0, "AutoRec regularisation path: lambda2 values must be finite and >= 0");
  AutoRecOptions stage = o;
  stage.keep_best = true;
  PathResult path;
  std::vector<at::Tensor> best_params;
  int64_t done = 0;     // loops run before this value
  double elapsed = 0;   // and their seconds
  for (double lambda2 : lambdas) {
    for (auto& layer : model->layers) layer->options.lambda2 = lambda2;
    auto renumber = [&](LoopRecord& rec) {
      rec.loop += done;
      rec.seconds += elapsed;
    };
    auto report = [&](LoopRecord rec) {
      renumber(rec);
      if (on_loop) on_loop(rec);
    };
    AutoRecResult r = fit_autorec(model, split, stage, report, &validation);  // ends at this value's best loop
    for (auto& rec : r.history) renumber(rec);
    r.loop += done;
    path.points.push_back({lambda2, r.validation_rmse, static_cast<int64_t>(r.history.size())});
    done += static_cast<int64_t>(r.history.size());
    elapsed += r.train_seconds;
    auto history = std::move(path.fit.history);
    history.insert(history.end(), r.history.begin(), r.history.end());
    const bool improved = best_params.empty() || r.validation_rmse < path.fit.validation_rmse;
    if (improved) {
      path.fit = r;
      path.lambda2 = lambda2;
      best_params = snapshot(model);
    }
    path.fit.history = std::move(history);
    path.fit.train_seconds = elapsed;
    if (!improved) break;
  }
  restore(model, best_params);
  for (auto& layer : model->layers) layer->options.lambda2 = path.lambda2;
  return path;
}

}  // namespace rkhs::kernelnet
