// rkhs recommend: MovieLens -> bias baseline or AutoRec (dense / kernelNet / sparse FC) -> RMSE, parameters, MACs.
#include "rkhs/jobs/recommend_job.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "rkhs/error.h"
#include "rkhs/core/run_folder.h"

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

RecommendResult run_recommend(RecommendConfig c) {
  const std::string train_path = strip_prefix(c.data, true);
  const std::string test_path = c.test.empty() ? "" : strip_prefix(c.test, false);
  RKHS_CHECK(!c.autorec.keep_best || c.validation_fraction > 0, "--keep-best needs --validation-fraction > 0");
  RKHS_CHECK(!c.autorec.keep_best || c.model != "bias", "--keep-best applies to the AutoRec models, not to bias");
  auto split = data::load_ratings_split(train_path, test_path, c.test_fraction, c.autorec.seed);
  std::optional<data::Ratings> validation;
  if (c.validation_fraction > 0) {
    auto [fit_part, held_out] = data::split_ratings(split.train, c.validation_fraction, c.autorec.seed + 1);
    split.train = std::move(fit_part);
    validation = std::move(held_out);
  }
  RecommendResult r;
  r.format = data::format_name(split.format);
  r.users = split.train.num_users();
  r.items = split.train.num_items();
  r.train_ratings = split.train.size();
  r.test_ratings = split.test.size();
  r.rating_min = split.train.min_rating();
  r.rating_max = split.train.max_rating();

  std::vector<double> test_predictions;  // clipped, in the order of split.test (for --out)
  if (c.model == "bias") {
    const auto start = std::chrono::steady_clock::now();
    auto sel = kernelnet::select_bias(split.train, c.bias_lambdas, 0.1, c.autorec.seed);
    r.fit.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.bias_lambda = sel.lambda;
    r.fit.test_rmse = kernelnet::bias_rmse(sel.model, split.test, r.rating_min, r.rating_max);
    r.fit.train_rmse = kernelnet::bias_rmse(sel.model, split.train, r.rating_min, r.rating_max);
    if (validation) r.fit.validation_rmse = kernelnet::bias_rmse(sel.model, *validation, r.rating_min, r.rating_max);
    r.fit.parameters = 1 + r.users + r.items;
    r.fit.macs = 2;
    r.fit.cold_start_test = kernelnet::cold_start_ratings(split);
    for (int64_t k = 0; k < split.test.size(); ++k)
      test_predictions.push_back(std::clamp(sel.model.predict(split.test.user[k], split.test.item[k]),
                                            double(r.rating_min), double(r.rating_max)));
  } else {
    if (c.model == "autorec") c.autorec.layer = "dense";
    else if (c.model == "kernelnet") c.autorec.layer = "kernel";
    else if (c.model == "sparse-fc") c.autorec.layer = "sparse";
    else throw Error("unknown --model '" + c.model + "' (bias, autorec, kernelnet, sparse-fc)");
    if (!c.dim_given) c.autorec.layer_options.dim = c.model == "kernelnet" ? 50 : 5;
    r.dim = c.autorec.layer_options.dim;
    torch::manual_seed(c.autorec.seed);
    kernelnet::AutoRec model(split.train.num_users(), c.autorec);
    r.fit = kernelnet::fit_autorec(model, split, c.autorec, {}, validation ? &*validation : nullptr);
    if (!c.out_dir.empty()) {
      torch::NoGradGuard no_grad;
      auto p = model->decode_pairs(model->encode(kernelnet::observed_ratings(split.train)),
                                   torch::tensor(split.test.item, torch::kLong), torch::tensor(split.test.user, torch::kLong))
                   .to(torch::kDouble)
                   .clamp(r.rating_min, r.rating_max)
                   .contiguous();
      test_predictions.assign(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
    }
  }
  if (!c.out_dir.empty()) {
    core::RunFolder run(c.out_dir);
    run.write_text("config.json", r.to_json(c) + "\n");
    std::string csv = "loop,loss,train_rmse,validation_rmse,test_rmse,seconds\n";
    for (const auto& h : r.fit.history)
      csv += std::to_string(h.loop) + "," + std::to_string(h.loss) + "," + std::to_string(h.train_rmse) + "," +
             (h.validation_rmse >= 0 ? std::to_string(h.validation_rmse) : "") + "," + std::to_string(h.test_rmse) +
             "," + std::to_string(h.seconds) + "\n";
    run.write_text("history.csv", csv);
    // Test predictions with the item's number of training ratings (for error analyses by popularity).
    std::vector<int64_t> item_count(static_cast<size_t>(split.train.num_items()), 0);
    for (int64_t i : split.train.item) ++item_count[static_cast<size_t>(i)];
    std::string pred = "user_id,item_id,rating,prediction,item_train_ratings\n";
    for (int64_t k = 0; k < split.test.size(); ++k) {
      char line[160];
      std::snprintf(line, sizeof line, "%lld,%lld,%g,%.6f,%lld\n", (long long)split.test.user_ids[split.test.user[k]],
                    (long long)split.test.item_ids[split.test.item[k]], double(split.test.rating[k]),
                    test_predictions[static_cast<size_t>(k)], (long long)item_count[static_cast<size_t>(split.test.item[k])]);
      pred += line;
    }
    run.write_text("predictions.csv", pred);
  }
  return r;
}

std::string RecommendResult::to_json(const RecommendConfig& c) const {
  json j;
  j["command"] = "recommend";
  j["data"] = c.data;
  j["test"] = c.test.empty() ? json(nullptr) : json(c.test);
  j["format"] = format;
  j["model"] = c.model;
  j["seed"] = c.autorec.seed;
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
  j["parameters"] = fit.parameters;
  j["macs"] = fit.macs;
  if (c.model == "bias") {
    j["lambda"] = bias_lambda;
  } else {
    const auto& a = c.autorec;
    const auto& lo = a.layer_options;
    j["layers"] = a.layers;
    j["hidden"] = a.hidden;
    j["lambda2"] = lo.lambda2;
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
      h.push_back({{"loop", rec.loop}, {"loss", rec.loss}, {"train_rmse", rec.train_rmse},
                   {"validation_rmse", rec.validation_rmse >= 0 ? json(rec.validation_rmse) : json(nullptr)},
                   {"test_rmse", rec.test_rmse}, {"seconds", rec.seconds}});
    j["history"] = h;
  }
  return j.dump();
}

}  // namespace rkhs::jobs
