// rkhs recommend: MovieLens -> bias baseline or AutoRec (dense / kernelNet / sparse FC) -> RMSE, parameters, MACs.
#include "rkhs/jobs/recommend_job.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/run_folder.h"
#include "rkhs/kernelnet/blend.h"

namespace rkhs::jobs {

using json = nlohmann::json;

namespace {

std::string strip_prefix(const std::string& spec, bool required) {
  const std::string p = "movielens:";
  if (spec.rfind(p, 0) == 0) return spec.substr(p.size());
  if (required) throw Error("--data must be movielens:PATH (a ratings file or a folder), got '" + spec + "'");
  return spec;
}

}  // namespace

namespace {

// Predictions at the pairs of one ratings set: the autoencoder's (a), the bias model's (b) and the item's number of
// training ratings (n).
struct PairPredictions {
  std::vector<double> a, b, n;
};

std::vector<double> item_counts(const data::Ratings& train) {
  std::vector<double> count(static_cast<size_t>(train.num_items()), 0.0);
  for (int64_t i : train.item) count[static_cast<size_t>(i)] += 1;
  return count;
}

PairPredictions predict_pairs(kernelnet::AutoRec* model, const at::Tensor& hidden, const kernelnet::BiasModel& bias,
                              const std::vector<double>& count, const data::Ratings& r) {
  PairPredictions p;
  for (int64_t k = 0; k < r.size(); ++k) {
    p.b.push_back(bias.predict(r.user[k], r.item[k]));
    p.n.push_back(count[static_cast<size_t>(r.item[k])]);
  }
  if (model) {
    torch::NoGradGuard no_grad;
    const auto device = hidden.device();
    auto a = (*model)
                 ->decode_pairs(hidden, torch::tensor(r.item, torch::kLong).to(device),
                                torch::tensor(r.user, torch::kLong).to(device))
                 .to(torch::kCPU, torch::kDouble)
                 .contiguous();
    p.a.assign(a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
  } else {
    p.a = p.b;
  }
  return p;
}

double rmse_of(const PairPredictions& p, const data::Ratings& r, double c, float lo, float hi) {
  return kernelnet::shrinkage_rmse(p.a, p.b, p.n, r.rating, c, lo, hi);
}

// The AutoRec models: a fixed lambda2 or the validation-chosen path (config.lambda2_auto).
void fit_autoencoder(RecommendConfig& c, kernelnet::AutoRec& model, const data::RatingsSplit& split,
                     const data::Ratings* validation, RecommendResult& r) {
  if (!c.lambda2_auto) {
    r.fit = kernelnet::fit_autorec(model, split, c.autorec, {}, validation);
    return;
  }
  RKHS_CHECK(validation, "choosing lambda2 (--lambda2 auto) needs validation ratings (--validation-fraction > 0)");
  c.autorec.keep_best = true;
  r.lambda2_path = kernelnet::fit_autorec_path(model, split, c.autorec, c.lambda2_grid, *validation);
  r.fit = r.lambda2_path.fit;
  c.autorec.layer_options.lambda2 = r.lambda2_path.lambda2;
}

void write_run_folder(const RecommendResult& r, const data::RatingsSplit& split,
                      const std::vector<double>& test_predictions) {
  core::RunFolder run(r.config.out_dir);
  run.write_text("config.json", r.to_json() + "\n");
  std::string csv = "loop,lambda2,loss,train_rmse,validation_rmse,test_rmse,seconds\n";
  for (const auto& h : r.fit.history)
    csv += std::to_string(h.loop) + "," + std::to_string(h.lambda2) + "," + std::to_string(h.loss) + "," +
           std::to_string(h.train_rmse) + "," + (h.validation_rmse >= 0 ? std::to_string(h.validation_rmse) : "") +
           "," + std::to_string(h.test_rmse) + "," + std::to_string(h.seconds) + "\n";
  run.write_text("history.csv", csv);
  // Test predictions with the item's number of training ratings (for error analyses by popularity).
  const auto count = item_counts(split.train);
  std::string pred = "user_id,item_id,rating,prediction,item_train_ratings\n";
  for (int64_t k = 0; k < split.test.size(); ++k) {
    char line[160];
    std::snprintf(line, sizeof line, "%lld,%lld,%g,%.6f,%lld\n", (long long)split.test.user_ids[split.test.user[k]],
                  (long long)split.test.item_ids[split.test.item[k]], double(split.test.rating[k]),
                  test_predictions[static_cast<size_t>(k)], (long long)count[static_cast<size_t>(split.test.item[k])]);
    pred += line;
  }
  run.write_text("predictions.csv", pred);
}

void set_layer(RecommendConfig& c) {
  if (c.model == "autorec") c.autorec.layer = "dense";
  else if (c.model == "kernelnet") c.autorec.layer = "kernel";
  else if (c.model == "sparse-fc") c.autorec.layer = "sparse";
  else throw Error("unknown --model '" + c.model + "' (bias, autorec, kernelnet, sparse-fc)");
  if (!c.dim_given) c.autorec.layer_options.dim = c.model == "kernelnet" ? 50 : 5;
}

// --validation-fraction's default (10% when something is chosen on validation ratings) and its checks.
void resolve_validation(RecommendConfig& c, bool bias_only) {
  const bool chooses = !bias_only && (c.lambda2_auto || c.shrink < 0 || c.autorec.keep_best);
  if (c.validation_fraction < 0) c.validation_fraction = chooses ? 0.1 : 0;
  RKHS_CHECK(!c.autorec.keep_best || c.validation_fraction > 0, "--keep-best needs --validation-fraction > 0");
  RKHS_CHECK(!c.autorec.keep_best || !bias_only, "--keep-best applies to the AutoRec models, not to bias");
  RKHS_CHECK(bias_only || !chooses || c.validation_fraction > 0,
             "--lambda2 auto and --shrink auto choose on validation ratings: give --validation-fraction > 0, or fix "
             "both (e.g. --lambda2 300 --shrink none)");
}

// The training and test ratings, and validation ratings split off the training ones.
struct RatingsData {
  data::RatingsSplit split;
  std::optional<data::Ratings> validation;
};

RatingsData load_ratings(const RecommendConfig& c, RecommendResult& r) {
  const std::string train_path = strip_prefix(c.data, true);
  const std::string test_path = c.test.empty() ? "" : strip_prefix(c.test, false);
  RatingsData d{data::load_ratings_split(train_path, test_path, c.test_fraction, c.autorec.seed), std::nullopt};
  if (c.validation_fraction > 0) {
    auto [fit_part, held_out] = data::split_ratings(d.split.train, c.validation_fraction, c.autorec.seed + 1);
    d.split.train = std::move(fit_part);
    d.validation = std::move(held_out);
  }
  const auto& split = d.split;
  r.format = data::format_name(split.format);
  r.users = split.train.num_users();
  r.items = split.train.num_items();
  r.train_ratings = split.train.size();
  r.test_ratings = split.test.size();
  r.rating_min = split.train.min_rating();
  r.rating_max = split.train.max_rating();
  return d;
}

// The shrinkage c of the autoencoder's predictions toward the bias model's: given, or chosen on the validation
// ratings; with c > 0 the two endpoints' test RMSEs are reported too.
void choose_shrink(const RecommendConfig& c, const PairPredictions& test, const std::optional<PairPredictions>& val,
                   const RatingsData& d, RecommendResult& r) {
  const float lo = r.rating_min, hi = r.rating_max;
  r.shrink = c.shrink;
  if (c.shrink < 0) {
    auto choice = kernelnet::choose_shrinkage(val->a, val->b, val->n, d.validation->rating, kernelnet::shrinkage_grid(),
                                              lo, hi);
    r.shrink = choice.c;
    r.shrink_grid = choice.grid;
    r.shrink_validation_rmse = choice.validation_rmse;
  }
  if (r.shrink > 0) {
    r.autoencoder_test_rmse = rmse_of(test, d.split.test, 0, lo, hi);
    r.bias_test_rmse = rmse_of(test, d.split.test, std::numeric_limits<double>::infinity(), lo, hi);
  }
}

}  // namespace

// Stages: load the ratings -> fit the bias model (and the autoencoder) -> predict -> choose the shrinkage ->
// evaluate -> report.
RecommendResult run_recommend(RecommendConfig c) {
  compat::parse_device(c.device);  // an unknown or absent device fails before any work
  const bool bias_only = c.model == "bias";
  if (!bias_only) set_layer(c);
  resolve_validation(c, bias_only);
  RecommendResult r;
  const auto d = load_ratings(c, r);
  auto& dist = core::DistWorld::get();
  if (dist.active()) {  // docs/DISTRIBUTED.md: the AutoRec's objective is sharded over the items
    RKHS_CHECK(!bias_only, "--model bias runs in one process only (WORLD_SIZE=" + std::to_string(dist.size()) + ")");
    RecommendResult probe = r;  // the configuration rendered by the JSON writer, before any result
    probe.config = c;
    dist.check_same("configuration", probe.to_json() + " " + c.data);
  }
  const auto& split = d.split;
  const auto& validation = d.validation;
  const float lo = r.rating_min, hi = r.rating_max;

  // The bias model: the result itself for --model bias, the shrinkage target otherwise (cheap either way).
  const core::Stopwatch start;
  auto sel = kernelnet::select_bias(split.train, c.bias_lambdas, 0.1, c.autorec.seed);
  r.bias_lambda = sel.lambda;
  std::optional<kernelnet::AutoRec> model;
  at::Tensor hidden;
  if (bias_only) {
    r.fit.train_seconds = start.seconds();
    r.fit.parameters = 1 + r.users + r.items;
    r.fit.macs = 2;
    r.fit.cold_start_test = kernelnet::cold_start_ratings(split);
    r.shrink = std::numeric_limits<double>::infinity();
  } else {
    r.dim = c.autorec.layer_options.dim;
    torch::manual_seed(c.autorec.seed);
    model.emplace(split.train.num_users(), c.autorec);
    const auto device = compat::parse_device(c.device);
    (*model)->to(device);
    fit_autoencoder(c, *model, split, validation ? &*validation : nullptr, r);
    torch::NoGradGuard no_grad;
    hidden = (*model)->encode(kernelnet::observed_ratings(split.train).to(device));
  }
  const auto count = item_counts(split.train);
  auto* m = model ? &*model : nullptr;
  const auto test = predict_pairs(m, hidden, sel.model, count, split.test);
  std::optional<PairPredictions> val;  // once, for the choice of c and the reported validation RMSE
  if (validation) val = predict_pairs(m, hidden, sel.model, count, *validation);
  if (!bias_only) choose_shrink(c, test, val, d, r);
  // The reported RMSEs are the final predictions' (for the AutoRec models: the kept loop, shrunk by r.shrink).
  r.fit.test_rmse = rmse_of(test, split.test, r.shrink, lo, hi);
  r.fit.train_rmse = rmse_of(predict_pairs(m, hidden, sel.model, count, split.train), split.train, r.shrink, lo, hi);
  if (validation) r.fit.validation_rmse = rmse_of(*val, *validation, r.shrink, lo, hi);
  r.config = c;
  r.world_size = dist.size();
  r.comm_seconds = dist.comm_seconds();
  if (!c.out_dir.empty() && dist.is_root()) {
    std::vector<double> test_predictions;
    for (size_t k = 0; k < test.a.size(); ++k)
      test_predictions.push_back(std::clamp(kernelnet::shrink(test.a[k], test.b[k], test.n[k], r.shrink), double(lo), double(hi)));
    write_run_folder(r, split, test_predictions);
  }
  return r;
}

namespace {

json number_or_inf(double x) { return std::isinf(x) ? json("inf") : json(x); }

json numbers_or_inf(const std::vector<double>& xs) {
  json a = json::array();
  for (double x : xs) a.push_back(number_or_inf(x));
  return a;
}

}  // namespace

std::string RecommendResult::to_json() const {
  const auto& c = config;
  json j;
  j["command"] = "recommend";
  j["data"] = c.data;
  j["test"] = c.test.empty() ? json(nullptr) : json(c.test);
  j["format"] = format;
  j["model"] = c.model;
  j["seed"] = c.autorec.seed;
  j["device"] = c.device;
  j["users"] = users;
  j["items"] = items;
  j["train_ratings"] = train_ratings;
  j["test_ratings"] = test_ratings;
  j["cold_start_test"] = fit.cold_start_test;
  j["rating_range"] = {rating_min, rating_max};
  j["test_rmse"] = fit.test_rmse;
  j["validation_fraction"] = c.validation_fraction;
  j["validation_rmse"] = fit.validation_rmse >= 0 ? json(fit.validation_rmse) : json(nullptr);
  j["train_rmse"] = fit.train_rmse;
  j["train_seconds"] = fit.train_seconds;
  j["world_size"] = world_size;
  j["comm_seconds"] = comm_seconds;
  j["parameters"] = fit.parameters;
  j["macs"] = fit.macs;
  if (c.model == "bias") {
    j["lambda"] = bias_lambda;
    return j.dump();
  }
  const auto& a = c.autorec;
  const auto& lo = a.layer_options;
  j["layers"] = a.layers;
  j["hidden"] = a.hidden;
  j["lambda2"] = lo.lambda2;
  j["shrink"] = number_or_inf(shrink);
  json chosen = json::object();
  if (c.lambda2_auto) chosen["lambda2"] = lo.lambda2;
  if (c.shrink < 0) chosen["shrink"] = number_or_inf(shrink);
  j["chosen"] = chosen;
  if (c.lambda2_auto) {
    json grid = json::array(), val = json::array(), loops = json::array();
    for (const auto& p : lambda2_path.points) {
      grid.push_back(p.lambda2);
      val.push_back(p.validation_rmse);
      loops.push_back(p.loops);
    }
    j["lambda2_search"] = {{"grid", c.lambda2_grid}, {"tried", grid}, {"validation_rmse", val}, {"loops", loops}};
  } else {
    j["lambda2_search"] = nullptr;
  }
  j["shrink_search"] = c.shrink < 0 ? json{{"grid", numbers_or_inf(shrink_grid)},
                                          {"validation_rmse", shrink_validation_rmse}}
                                    : json(nullptr);
  j["autoencoder_test_rmse"] = autoencoder_test_rmse >= 0 ? json(autoencoder_test_rmse) : json(nullptr);
  j["bias_test_rmse"] = bias_test_rmse >= 0 ? json(bias_test_rmse) : json(nullptr);
  j["bias_lambda"] = bias_lambda;
  if (c.model == "sparse-fc") {
    j["lambda_s"] = lo.lambda_s;
    j["sparsity_penalty"] = lo.sparsity_penalty;
  }
  if (c.model != "autorec") j["dim"] = dim;
  if (c.model == "kernelnet") j["kernel"] = lo.kernel;
  j["outer_loops"] = a.outer_loops;
  j["keep_best"] = a.keep_best;
  j["loop"] = fit.loop;
  j["lbfgs_iterations"] = a.lbfgs_iterations;
  j["weights"] = fit.weights;
  j["nonzero_weights"] = fit.nonzero_weights;
  json h = json::array();
  for (const auto& rec : fit.history)
    h.push_back({{"loop", rec.loop}, {"lambda2", rec.lambda2}, {"loss", rec.loss}, {"train_rmse", rec.train_rmse},
                 {"validation_rmse", rec.validation_rmse >= 0 ? json(rec.validation_rmse) : json(nullptr)},
                 {"test_rmse", rec.test_rmse}, {"seconds", rec.seconds}});
  j["history"] = h;
  return j.dump();
}

}  // namespace rkhs::jobs
