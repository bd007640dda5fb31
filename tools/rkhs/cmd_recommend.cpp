// rkhs recommend: MovieLens rating prediction with the kernelNet / sparse-FC autoencoders of paper 004.
#include <unistd.h>

#include <cmath>
#include <iomanip>
#include <limits>
#include <optional>
#include <iostream>
#include <memory>

#include "cli.h"
#include "rkhs/error.h"
#include "rkhs/jobs/recommend_job.h"

namespace rkhs::cli {

namespace {

struct RecommendFlags {
  CommonFlags common;
  jobs::RecommendConfig config;
  CLI::Option* dim = nullptr;
  CLI::Option* outer_loops = nullptr;
  std::string lambda2 = "auto", shrink = "auto";
};

// "auto" -> nullopt; else a finite number >= 0 ("none" as 0 where allow_none, "inf" where allow_inf).
std::optional<double> parse_choice(const std::string& flag, const std::string& text, bool allow_none, bool allow_inf) {
  if (text == "auto") return std::nullopt;
  if (allow_none && text == "none") return 0.0;
  if (allow_inf && text == "inf") return std::numeric_limits<double>::infinity();
  double x = 0;
  size_t used = 0;
  try {
    x = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(x) || x < 0)
    throw Error(flag + " must be auto" + std::string(allow_none ? ", none" : "") + (allow_inf ? ", inf" : "") +
                " or a number >= 0, got '" + text + "'");
  return x;
}

void run(RecommendFlags& f) {
  const bool progress = setup_runtime(f.common, /*data_parallel=*/true);
  auto& c = f.config;
  c.autorec.seed = f.common.seed;
  c.autorec.progress = progress;
  c.dim_given = f.dim->count() > 0;
  c.out_dir = f.common.out;
  c.device = f.common.device;
  const auto lambda2 = parse_choice("--lambda2", f.lambda2, false, false);
  c.lambda2_auto = !lambda2;
  if (lambda2) c.autorec.layer_options.lambda2 = *lambda2;
  else c.autorec.outer_loops = f.outer_loops->count() > 0 ? c.autorec.outer_loops : 10;
  c.shrink = parse_choice("--shrink", f.shrink, true, true).value_or(-1.0);
  auto r = jobs::run_recommend(c);
  if (!writes_outputs()) return;  // rank 0 reports for the world
  if (!f.common.json || isatty(STDOUT_FILENO)) {
    std::cout << std::fixed << std::setprecision(4) << "data        " << c.data << " (" << r.format << ", " << r.users
              << " users, " << r.items << " items, " << r.train_ratings << " train / " << r.test_ratings
              << " test ratings)\n"
              << "model       " << c.model << "\n"
              << "test RMSE   " << r.fit.test_rmse << "   (train " << r.fit.train_rmse << ")\n";
    if (c.model != "bias")
      std::cout << "chosen      lambda2 " << std::setprecision(4) << r.config.autorec.layer_options.lambda2
                << (r.config.lambda2_auto ? " (on validation)" : " (given)") << ", shrink c " << r.shrink
                << (r.config.shrink < 0 ? " (on validation)" : " (given)") << "\n";
    std::cout
              << std::setprecision(0) << "parameters  " << r.fit.parameters << "   MACs per prediction " << r.fit.macs
              << "\n"
              << std::setprecision(1) << "time        " << r.fit.train_seconds << " s\n";
  }
  if (f.common.json) std::cout << r.to_json() << std::endl;
}

}  // namespace

void register_recommend(CLI::App& app) {
  auto f = std::make_shared<RecommendFlags>();
  auto& c = f->config;
  auto& a = c.autorec;
  auto* cmd = app.add_subcommand("recommend",
                                 "Predict MovieLens ratings with an item-based autoencoder whose weights are dense "
                                 "(I-AutoRec), kernelNet or sparse-FC layers (paper 004), or the user+item bias "
                                 "baseline; reports test RMSE, parameters and MACs");
  add_common_flags(*cmd, f->common);
  cmd->add_option("--data", c.data, "movielens:PATH, a ratings file (ml-100k u.data/u1.base, ml-1m ratings.dat, "
                                    "ml-latest ratings.csv; detected) or a folder holding one")
      ->required()->group("Data");
  cmd->add_option("--test", c.test, "Test ratings file (e.g. ml-100k u1.test); default: a random split")->group("Data");
  cmd->add_option("--test-fraction", c.test_fraction, "Random test fraction when no --test is given (seeded by --seed)")
      ->capture_default_str()->group("Data");
  cmd->add_option("--validation-fraction", c.validation_fraction,
                  "Hold out this random fraction of the training ratings as a validation set (validation_rmse, for "
                  "choosing --lambda2 and --shrink without the test set); the model trains on the rest. Default: 0.1 "
                  "when --lambda2, --shrink or --keep-best choose on validation, else 0")
      ->group("Data");
  cmd->add_option("--model", c.model, "bias | autorec (dense I-AutoRec) | kernelnet (W = alpha K(u, v)) | sparse-fc "
                                      "(W = A * K_fs(u, v))")->capture_default_str()->group("Model");
  cmd->add_option("--layers", a.layers, "Hidden layers")->capture_default_str()->group("Model");
  cmd->add_option("--hidden", a.hidden, "Hidden width")->capture_default_str()->group("Model");
  f->dim = cmd->add_option("--dim", a.layer_options.dim, "Dimension d of the location vectors (default: 50 for "
                                                          "kernelnet, 5 for sparse-fc, as in the paper)")->group("Model");
  cmd->add_option("--kernel", a.layer_options.kernel, "kernelnet: kernel spec (tanh, linear, polynomial:degree=2, rbf, finite)")
      ->capture_default_str()->group("Model");
  cmd->add_option("--lambda2", f->lambda2,
                  "L2 weight: lambda2/2 sum W^2 per layer. auto: chosen on validation along a warm-started path "
                  "1000, 300, 100, 30, 10 (each value --outer-loops loops, default 10 there; the path stops when "
                  "validation RMSE stops improving), keeping the best loop; a number fixes it (the paper: 20 for "
                  "ML-100K, 60 for ML-1M)")
      ->capture_default_str()->group("Training");
  cmd->add_option("--shrink", f->shrink,
                  "Shrink the autoencoder's prediction a towards the user+item bias model's b for rarely rated items: "
                  "b + n/(n+c) (a - b), n the item's training ratings. auto: c chosen on validation from 0, 1, 3, 10, "
                  "30, 100, 300, 1000, inf; none (c = 0): the paper's autoencoder alone; a number fixes c")
      ->capture_default_str()->group("Training");
  cmd->add_option("--lambda-s", a.layer_options.lambda_s, "sparse-fc: sparsity weight on K (ML-100K setting; ML-1M 0.013)")
      ->capture_default_str()->group("Training");
  cmd->add_option("--sparsity-penalty", a.layer_options.sparsity_penalty,
                  "sparse-fc: squared (lambda_s/2 sum K^2, the official code) or linear (lambda_s sum K, the paper)")
      ->capture_default_str()->group("Training");
  f->outer_loops = cmd->add_option("--outer-loops", a.outer_loops, "L-BFGS restarts (a fresh optimiser each); with "
                                   "--lambda2 auto per value of the path (default 10 there)")
                       ->capture_default_str()->group("Training");
  cmd->add_option("--lbfgs-iterations", a.lbfgs_iterations, "L-BFGS iterations per outer loop")
      ->capture_default_str()->group("Training");
  cmd->add_option("--lbfgs-history", a.lbfgs_history, "L-BFGS history size")->capture_default_str()->group("Training");
  cmd->add_flag("--keep-best", a.keep_best, "Return the model of the outer loop with the lowest validation RMSE "
                "with a fixed --lambda2 (needs validation ratings; otherwise the last loop, as the official code). "
                "--lambda2 auto always keeps the best loop of its path")->group("Training");
  cmd->callback([f] { run(*f); });
}

}  // namespace rkhs::cli
