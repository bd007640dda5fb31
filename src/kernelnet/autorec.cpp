// Item-based AutoRec with kernelNet layers, trained by full-batch L-BFGS (paper 004 §3.5; the official code).
#include "rkhs/kernelnet/autorec.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "rkhs/error.h"

namespace rkhs::kernelnet {

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
  auto p = predictions.accessor<float, 2>();
  double sum = 0;
  for (int64_t i = 0; i < r.size(); ++i) {
    const double d = std::clamp(p[r.item[i]][r.user[i]], lo, hi) - double(r.rating[i]);
    sum += d * d;
  }
  return std::sqrt(sum / double(r.size()));
}

AutoRecResult fit_autorec(AutoRec& model, const data::RatingsSplit& split, const AutoRecOptions& o,
                          const std::function<void(const LoopRecord&)>& on_loop, const data::Ratings* validation) {
  RKHS_CHECK(o.outer_loops >= 1 && o.lbfgs_iterations >= 1 && o.lbfgs_history >= 1,
             "AutoRec: outer loops, L-BFGS iterations and history must be >= 1");
  RKHS_CHECK(split.train.size() > 0 && split.test.size() > 0, "AutoRec: empty training or test ratings");
  RKHS_CHECK(split.train.num_users() == model->layers.front()->weight().size(1),
             "AutoRec: the model was built for another number of users");
  const float lo = split.train.min_rating(), hi = split.train.max_rating();
  auto [r, mask] = rating_matrix(split.train);

  AutoRecResult result;
  result.cold_start_test = cold_start_ratings(split);
  const auto start = std::chrono::steady_clock::now();
  model->train();
  for (int64_t loop = 1; loop <= o.outer_loops; ++loop) {
    // A fresh optimiser every loop, as the official code (scipy's L-BFGS-B restarted with maxiter per call).
    torch::optim::LBFGS opt(model->parameters(), torch::optim::LBFGSOptions(1.0)
                                                     .max_iter(o.lbfgs_iterations)
                                                     .max_eval(o.lbfgs_iterations * 4)
                                                     .history_size(o.lbfgs_history)
                                                     .tolerance_grad(1e-9)
                                                     .tolerance_change(1e-12)
                                                     .line_search_fn("strong_wolfe"));
    double last_loss = 0;
    auto closure = [&]() -> at::Tensor {
      opt.zero_grad();
      auto p = model->forward(r);
      auto loss = 0.5 * (mask * (r - p)).square().sum() + model->penalty();
      last_loss = loss.item<double>();
      if (!std::isfinite(last_loss))
        throw Error("AutoRec training diverged: loss is " + std::to_string(last_loss) + " in outer loop " +
                    std::to_string(loop));
      loss.backward();
      return loss;
    };
    opt.step(closure);
    LoopRecord rec;
    rec.loop = loop;
    rec.loss = last_loss;
    {
      torch::NoGradGuard no_grad;
      auto p = model->forward(r).contiguous();
      rec.train_rmse = rmse(p, split.train, lo, hi);
      rec.test_rmse = rmse(p, split.test, lo, hi);
      if (validation) rec.validation_rmse = rmse(p, *validation, lo, hi);
    }
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.history.push_back(rec);
    if (o.progress)
      std::fprintf(stderr, "loop %lld/%lld  loss %.6g  train RMSE %.4f  validation RMSE %s  test RMSE %.4f  %.1f s\n",
                   (long long)loop, (long long)o.outer_loops, rec.loss, rec.train_rmse,
                   validation ? std::to_string(rec.validation_rmse).c_str() : "-", rec.test_rmse, rec.seconds);
    if (on_loop) on_loop(rec);
  }
  model->eval();
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.test_rmse = result.history.back().test_rmse;
  result.train_rmse = result.history.back().train_rmse;
  result.validation_rmse = result.history.back().validation_rmse;
  result.parameters = model->parameter_count();
  result.macs = model->macs();
  for (const auto& l : model->layers) {
    result.nonzero_weights += l->nonzero_weights();
    result.weights += l->weight().numel();
  }
  return result;
}

}  // namespace rkhs::kernelnet
