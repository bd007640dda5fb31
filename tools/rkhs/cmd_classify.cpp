// rkhs classify: train a backbone + classification head and report train/test metrics.
#include <torch/torch.h>
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "rkhs/classify/head.h"
#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/jobs/classify_job.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/train/optimizer.h"
#include "rkhs/nn/backbone.h"

namespace rkhs::cli {
namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep = "|") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

struct ClassifyFlags {
  CommonFlags common;
  jobs::ClassifyConfig config;
  std::string model;
  std::vector<int64_t> hidden = {128, 128};
  std::vector<std::pair<CLI::Option*, std::string>> only_for;  // option -> the optimizer it belongs to
  std::vector<OnlyFor> head_only;                               // option -> the heads it acts on
  CLI::Option* lr = nullptr;
  CLI::Option* epochs = nullptr;
  CLI::Option* activation = nullptr;
  CLI::Option* temperature = nullptr;
};

void print_summary(const jobs::ClassifyResult& r, const jobs::ClassifyConfig& c) {
  std::cout << std::fixed << std::setprecision(4);
  std::cout << "data      " << r.data_description << "\n";
  std::cout << "model     " << r.backbone << " + " << r.head << ", " << r.parameters << " parameters\n";
  std::cout << "epochs    " << (r.fit.history.empty() ? 0 : r.fit.history.back().epoch) << " in "
            << std::setprecision(1) << r.fit.train_seconds << " s" << std::setprecision(4) << "\n";
  if (r.lr_search) {
    const auto& s = *r.lr_search;
    std::cout << "lr        " << std::setprecision(4) << s.chosen;
    if (!s.chosen_activation.empty()) std::cout << ", activation " << s.chosen_activation;
    std::cout << ", chosen from " << s.candidates.size() << " candidates by successive halving at epochs";
    for (int64_t e : s.rungs) std::cout << " " << e;
    std::cout << " on " << s.validation_size << (s.held_out ? " held-out training" : " validation") << " points ("
              << std::setprecision(1) << s.seconds << " s beside the final model's training"
              << (s.from_checkpoint ? ", in the run that wrote the checkpoint" : "") << ")\n";
    if (s.held_out_joins_after)
      std::cout << "          the held-out points joined the training set after epoch " << *s.held_out_joins_after << "\n";
  }
  std::cout << "optimizer " << c.train.optimizer << ", state " << std::setprecision(2)
            << static_cast<double>(r.fit.optimizer_state_bytes) / 1e6 << " MB";
  if (r.fit.inverses > 0)
    std::cout << " (inverse kernel matrices " << static_cast<double>(r.fit.preconditioner_bytes) / 1e6 << " MB, "
              << r.fit.inverses << " computed in " << std::setprecision(1) << r.fit.preconditioner_seconds << " s, "
              << r.fit.pseudo_inverses << " pseudo-inverses)";
  std::cout << std::setprecision(4) << "\n";
  if (r.fit.converged_epoch > 0) std::cout << "converged at epoch " << r.fit.converged_epoch << " (loss change below tolerance)\n";
  std::cout << "train     accuracy " << r.train.accuracy << "  nll " << r.train.nll << "\n";
  if (r.validation)
    std::cout << "validation accuracy " << r.validation->accuracy << "  (best epoch " << r.fit.best_epoch << ")\n";
  std::cout << "test      accuracy " << r.test.accuracy << "  nll " << r.test.nll << "  ece " << r.test.ece << "\n";
  if (r.teacher_test) std::cout << "teacher   test accuracy " << r.teacher_test->accuracy << "\n";
  if (r.bayes_accuracy)
    std::cout << "bayes     accuracy " << *r.bayes_accuracy << " (exact, generative model); on this test set "
              << *r.bayes_test_accuracy << "\n";
}

void run(ClassifyFlags& f) {
  const bool progress = setup_runtime(f.common, /*data_parallel=*/true);
  auto& c = f.config;
  c.train.seed = f.common.seed;
  c.data.seed = f.common.seed;
  c.train.device = compat::parse_device(f.common.device);
  c.train.progress = progress;
  c.out_dir = f.common.out;
  c.backbone.name = f.model;
  c.backbone.hidden = f.hidden;
  // At the default rate a divergence lowers the rate (10x, at most 3 times) and says so; a given --lr is kept.
  c.train.max_restarts = f.lr->count() > 0 ? 0 : 3;
  c.lr_search = f.lr->count() == 0 && c.distill_from.empty();  // the teacher's logits cover the whole training part
  c.min_steps = f.epochs->count() > 0 ? 0 : 500;
  c.activation_search = c.lr_search && f.activation->count() == 0 && f.temperature->count() == 0;
  if (c.train.resume && c.train.checkpoint_path.empty())
    throw Error("--resume needs --checkpoint PATH");
  for (const auto& [option, optimizer] : f.only_for)
    if (option->count() > 0 && c.train.optimizer != optimizer)
      throw Error(option->get_name() + " applies to --optimizer " + optimizer + " only (this run uses " +
                  c.train.optimizer + ")");
  std::string head = c.head.name == "kcl" ? "kernelized" : c.head.name == "lin" ? "cosine" : c.head.name;
  check_only_for(f.head_only, "--head", head);
  auto result = jobs::run_classify(c);
  if (!writes_outputs()) return;  // rank 0 reports for the world
  if (!f.common.json || isatty(STDOUT_FILENO)) print_summary(result, c);
  if (!f.common.out.empty()) {
    const std::string script =
        "set datafile separator ','\nset key autotitle columnhead\nset xlabel 'epoch'\nset ylabel 'accuracy'\n"
        "set grid\nplot '" + f.common.out + "/metrics.csv' using 1:4 with linespoints title 'train accuracy'" +
        (result.validation ? ", '' using 1:7 with linespoints title 'validation accuracy'" : std::string()) + "\n";
    const auto png = run_gnuplot(f.common.out, "learning_curve", script);
    if (!png.empty() && !f.common.json) std::cout << "plot      " << png << "\n";
  }
  if (f.common.json) std::cout << result.to_json(c) << std::endl;
}

// Which data, how it is split and standardised.
void add_data_flags(CLI::App* cmd, ClassifyFlags& f) {
  auto& c = f.config;
  cmd->add_option("--data", c.data.spec,
                  "sphere | moons | circles | fashion-mnist | csv:PATH | libsvm:PATH | idx:IMAGES,LABELS")
      ->capture_default_str()->group("Data");
  cmd->add_option("--test", c.data.test_spec, "Separate test file (csv:PATH, libsvm:PATH, idx:IMAGES,LABELS)")->group("Data");
  cmd->add_option("--test-fraction", c.data.test_fraction, "Stratified test hold-out when no --test is given")
      ->capture_default_str()->group("Data");
  cmd->add_option("--validation-fraction", c.data.validation_fraction,
                  "Stratified validation split of the training part; the best validation epoch is kept")
      ->capture_default_str()->group("Data");
  cmd->add_option("--train-size", c.data.train_size, "Use a stratified subset of this many training points (0 = all)")
      ->capture_default_str()->group("Data");
  cmd->add_option("--test-size", c.data.test_size, "Use a stratified subset of this many test points (0 = all)")
      ->capture_default_str()->group("Data");
  cmd->add_flag("!--no-standardize", c.data.standardize, "Do not standardise features with training statistics")->group("Data");
}

// The backbone and the head; head-specific flags are rejected with the other heads.
void add_model_flags(CLI::App* cmd, ClassifyFlags& f) {
  auto& c = f.config;
  cmd->add_option("--model", f.model, "Backbone: " + join(nn::backbone_names()) + " (default: identity on sphere, "
                  "lenet5 on images, mlp otherwise)")->group("Model");
  cmd->add_option("--hidden", f.hidden, "MLP hidden widths, comma separated; the last is the embedding size")
      ->delimiter(',')->capture_default_str()->group("Model");
  cmd->add_flag("--final-relu", c.backbone.final_relu,
                "Keep the ReLU on the embedding (the paper removes it; kernelnet-* always keep theirs)")->group("Model");
  cmd->add_option("--grid-layers", c.backbone.grid_layers,
                  "kernelnet-grid|kernelnet-random (paper 004 Table 1): 2-D RBF kernelNet layers as MAPSxSIDE, comma "
                  "separated")->capture_default_str()->group("Model");
  cmd->add_option("--head", c.head.name, "Head: " + join(classify::head_names()))->capture_default_str()->group("Head");
  f.head_only.push_back({cmd->add_option("--order", c.head.order, "kernelized: order M of the series (eq. 7)")->capture_default_str()->group("Head"), {"kernelized"}});
  f.activation = cmd->add_option("--activation", c.head.activation,
                                  "kernelized: coefficient activation relu|sigmoid|softmax|none. Not given (and "
                                  "neither --lr nor --temperature): chosen on validation data from relu, sigmoid "
                                  "and softmax together with the rate (see --lr)")
                      ->capture_default_str()->group("Head");
  f.head_only.push_back({f.activation, {"kernelized"}});
  f.head_only.push_back({f.temperature = cmd->add_option("--temperature", c.head.temperature,
                  "Temperature: kernelized T (<= 0: relu 1, sigmoid 0.1, softmax 0.005, none 1); cosine, rbf, poly: initial 1/scale; softmax both-fixed: T")->group("Head"), {"kernelized", "softmax", "cosine", "mkl", "rbf", "rbf-learned", "poly"}});
  f.head_only.push_back({cmd->add_option("--alpha-weight-decay", c.head.alpha_weight_decay,
                  "kernelized: weight decay on the coefficients (< 0: 1e-4 with relu, else 0)")->group("Head"), {"kernelized"}});
  f.head_only.push_back({cmd->add_option("--indicator-eps", c.head.indicator_eps, "kernelized: t >= 1-eps counts as t = 1 (and -1 alike)")
      ->capture_default_str()->group("Head"), {"kernelized"}});
  f.head_only.push_back({cmd->add_option("--normalize", c.head.normalize, "softmax: none|embedding|both-fixed|both-learned (Table 7)")
      ->capture_default_str()->group("Head"), {"softmax"}});
  f.head_only.push_back({cmd->add_option("--sigma", c.head.sigma, "rbf, rbf-learned (initial), mkl: kernel width")->capture_default_str()->group("Head"), {"rbf", "rbf-learned", "mkl"}});
  f.head_only.push_back({cmd->add_option("--poly-degree", c.head.poly_degree, "poly head: degree")->capture_default_str()->group("Head"), {"poly"}});
  f.head_only.push_back({cmd->add_option("--gamma", c.head.gamma, "kervo-rbf: exp(-gamma ||z - w||^2)")->capture_default_str()->group("Head"), {"kervo-rbf"}});
  f.head_only.push_back({cmd->add_option("--kervo-degree", c.head.kervo_degree, "kervo-poly: (<z, w> + 1)^degree")->capture_default_str()->group("Head"), {"kervo-poly"}});
}

// The optimiser, its rate and schedule, convergence and checkpoints.
void add_training_flags(CLI::App* cmd, ClassifyFlags& f) {
  auto& t = f.config.train;
  cmd->add_option("--optimizer", t.optimizer, join(train::optimizer_names()) + " (esgd, adahessian, kernel-sgd: paper 001)")
      ->capture_default_str()->group("Training");
  f.lr = cmd->add_option("--lr", t.lr, "Learning rate. Not given: chosen on validation data from 3, 1, 0.3 and "
                          "0.1 times this default by successive halving: every candidate starts a full-length run, "
                          "the better half goes on at a quarter and at half of the epochs (earlier rungs with more "
                          "candidates), and the last one left trains to the end as the final model (validation: the "
                          "run's validation split, else 10% of the training part held out, which joins the final "
                          "model's training after the last rung); a divergence (a loss that is not finite) of the final model undoes the "
                          "epoch and reruns it at a 10x smaller rate, at most 3 times, with a warning. Given: used "
                          "as is; a divergence stops the run. With --distill-from and no --lr: this default, not searched")
              ->capture_default_str()->group("Training");
  f.only_for.emplace_back(cmd->add_option("--momentum", t.momentum, "Momentum of the momentum optimizer")
                              ->capture_default_str()->group("Training"), "momentum");
  cmd->add_option("--weight-decay", t.weight_decay, "Weight decay")->capture_default_str()->group("Training");
  f.epochs = cmd->add_option("--epochs", t.epochs, "Epochs. Not given: 10, or more on a small training set so that "
                             "training takes at least 500 optimizer steps (moons and circles: 72)")
                 ->capture_default_str()->group("Training");
  cmd->add_option("--batch-size", t.batch_size, "Mini-batch size")->capture_default_str()->group("Training");
  cmd->add_option("--schedule", t.schedule, "constant|step|cosine")->capture_default_str()->group("Training");
  cmd->add_option("--warmup-epochs", t.warmup_epochs, "Linear warm-up epochs")->capture_default_str()->group("Training");
  cmd->add_option("--step-size", t.step_size, "step schedule: epochs between drops")->capture_default_str()->group("Training");
  cmd->add_option("--step-gamma", t.step_gamma, "step schedule: factor per drop")->capture_default_str()->group("Training");
  f.only_for.emplace_back(cmd->add_option("--lbfgs-history", t.lbfgs_history, "L-BFGS history size")
                              ->capture_default_str()->group("Training"), "lbfgs");
  cmd->add_option("--converge-tol", t.converge_tol, "Stop when the epoch's mean training loss changes by less than this "
                  "for --converge-patience epochs in a row (paper 001: 1e-4; 0 = run all epochs)")
      ->capture_default_str()->group("Training");
  cmd->add_option("--converge-patience", t.converge_patience, "Epochs of small loss changes before stopping")
      ->capture_default_str()->group("Training");
  cmd->add_option("--checkpoint", t.checkpoint_path,
                  "Write a checkpoint after every epoch of the final model, atomically (with the rate search: after "
                  "each epoch past its last rung, or once after it when the run ended there)")
      ->group("Training");
  cmd->add_flag("--resume", t.resume,
                "Continue from --checkpoint if it exists (with the rate search: the choice recorded in the checkpoint, "
                "not searched again)")
      ->group("Training");
}

// Paper 001's optimizers: flags that only make sense with one optimizer are rejected with the others.
void add_paper001_flags(CLI::App* cmd, ClassifyFlags& f) {
  auto& t = f.config.train;
  const std::string ksgd = "Kernel SGD";
  f.only_for.emplace_back(cmd->add_option("--kernel", t.kernel_sgd.kernel,
      "kernel-sgd: kernel of the mini-batch inputs (" + join(kernels::kernel_names(), ", ") +
      ", or random-psd: a random PSD matrix, the paper's control)")->capture_default_str()->group(ksgd), "kernel-sgd");
  f.only_for.emplace_back(cmd->add_option("--kernel-sgd-mode", t.kernel_sgd.mode,
      "kernel-sgd: faithful (the paper's zero padding of H^-1: with batch < layer width, the extra weight columns "
      "never move) | corrected (ours: identity padding)")->capture_default_str()->group(ksgd), "kernel-sgd");
  f.only_for.emplace_back(cmd->add_option("--kernel-sgd-damping", t.kernel_sgd.damping,
      "kernel-sgd: invert H + damping I (with the RBF kernel, 0.1 bounds each direction's step by 10 SGD steps; "
      "0: the paper's plain inverse, which diverges where the batch kernel matrix is near singular)")->capture_default_str()->group(ksgd), "kernel-sgd");
  f.only_for.emplace_back(cmd->add_flag("!--kernel-sgd-fresh-batches", t.kernel_sgd.fixed_batches,
      "kernel-sgd: new batches every epoch and one inverse per step, instead of one fixed partition whose "
      "inverses are computed once (the paper)")->group(ksgd), "kernel-sgd");
  f.only_for.emplace_back(cmd->add_flag("--kernel-sgd-all-layers", t.kernel_sgd.all_layers,
      "kernel-sgd: precondition every weight matrix, not only the last layer (paper's ablation)")->group(ksgd), "kernel-sgd");
  f.only_for.emplace_back(cmd->add_option("--kernel-sgd-momentum", t.kernel_sgd.momentum,
      "kernel-sgd: heavy-ball momentum on all parameters (0 = Algorithm 1's plain steps)")->capture_default_str()->group(ksgd),
      "kernel-sgd");
  f.only_for.emplace_back(cmd->add_option("--esgd-update-every", t.esgd_update_every,
      "esgd: steps between curvature estimates")->capture_default_str()->group("Second-order baselines"), "esgd");
  f.only_for.emplace_back(cmd->add_option("--esgd-damping", t.esgd_damping, "esgd: lambda in g / (sqrt(D / i) + lambda)")
      ->capture_default_str()->group("Second-order baselines"), "esgd");
  f.only_for.emplace_back(cmd->add_option("--adahessian-eps", t.adahessian_eps, "adahessian: epsilon of the denominator")
      ->capture_default_str()->group("Second-order baselines"), "adahessian");
  f.only_for.emplace_back(cmd->add_option("--hessian-power", t.adahessian_power, "adahessian: Hessian power k in (0, 1]")
      ->capture_default_str()->group("Second-order baselines"), "adahessian");
}

// Distillation (paper §6.4) and active learning (paper §6.5).
void add_distillation_flags(CLI::App* cmd, ClassifyFlags& f) {
  auto& c = f.config;
  auto& t = c.train;
  auto* distill = cmd->add_option("--distill-from", c.distill_from, "Train a softmax teacher with this backbone first and distil "
                  "it into the model (paper §6.4)")->group("Distillation");
  cmd->add_option("--teacher-epochs", c.teacher_epochs, "Teacher epochs (0 = --epochs)")->group("Distillation")->needs(distill);
  cmd->add_option("--teacher-checkpoint", c.teacher_checkpoint, "Teacher checkpoint: written after every teacher "
                  "epoch, resumed (or reused when complete) if it exists; seed, batch size, optimiser, lr and data size must match")
      ->group("Distillation")->needs(distill);
  cmd->add_option("--distill-temperature", t.distill_temperature, "Temperature of the soft targets")
      ->capture_default_str()->group("Distillation")->needs(distill);
  cmd->add_option("--distill-weight", t.distill_weight, "Weight of the soft loss (1 - weight on the labels)")
      ->capture_default_str()->group("Distillation")->needs(distill);
  auto* active = cmd->add_option("--active", c.active, "Active learning subset selection: random|margin|kcenter (paper §6.5)")
      ->group("Active learning");
  cmd->add_option("--active-seed-fraction", c.active_seed_fraction, "Random labelled seed set, fraction of train")
      ->capture_default_str()->group("Active learning")->needs(active);
  cmd->add_option("--active-budget", c.active_budget, "Points selected by the method, fraction of train")
      ->capture_default_str()->group("Active learning")->needs(active);
}

}  // namespace

void register_classify(CLI::App& app) {
  auto f = std::make_shared<ClassifyFlags>();
  auto* cmd = app.add_subcommand("classify",
                                 "Train a backbone with a classification head (softmax, cosine, the kernelized "
                                 "classification layer, and the paper's baselines) and report metrics");
  add_common_flags(*cmd, f->common);
  add_data_flags(cmd, *f);
  add_model_flags(cmd, *f);
  add_training_flags(cmd, *f);
  add_paper001_flags(cmd, *f);
  add_distillation_flags(cmd, *f);
  cmd->callback([f] { run(*f); });
}

}  // namespace rkhs::cli
