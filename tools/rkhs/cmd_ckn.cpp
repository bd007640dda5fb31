// rkhs ckn: convolutional kernel networks (paper 003), unsupervised or supervised, with a linear classifier.
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <memory>
#include <thread>

#include "cli.h"
#include "rkhs/error.h"
#include "rkhs/jobs/ckn_job.h"
#include "rkhs/warn.h"

namespace rkhs::cli {

namespace {

struct CknFlags {
  CommonFlags common;
  jobs::CknConfig config;
  std::string feature_scaling = "standardized";  // config.logistic.standardize
  CLI::Option* lambdas = nullptr;                 // given: the grid is used as given (no growth)
  CLI::App* cmd = nullptr;
  std::vector<OnlyFor> supervised_only;  // the supervised epochs' options: not for --mode unsupervised
};

// --load evaluates the saved model as it was trained: the flags of the network, its training and its classifier
// do not act (a caller may repeat the ones the model was trained with), which one warning says.
void check_load(const CknFlags& f) {
  if (f.config.load.empty()) return;
  std::string unused;
  for (const CLI::Option* o : f.cmd->get_options()) {
    const std::string& g = o->get_group();
    const bool saved = g == "Model" || g == "Training" || g == "Classifier" || o->get_name() == "--image-norm";
    if (saved && o->count() > 0 && o->get_name() != "--load") unused += (unused.empty() ? "" : ", ") + o->get_name();
  }
  if (!unused.empty()) warn("--load evaluates the saved model as it was trained; not used: " + unused);
}

void run(CknFlags& f) {
  check_load(f);
  if (f.config.load.empty()) check_only_for(f.supervised_only, "--mode", f.config.mode);
  const bool progress = setup_runtime(f.common, /*data_parallel=*/true);
  auto& c = f.config;
  // Several processes: rank 0 fits the classifier after the others are done, on every core unless --threads is set.
  c.solo_threads = f.common.threads > 0 ? 0 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  c.seed = f.common.seed;
  c.device = f.common.device;
  c.progress = progress;
  c.out_dir = f.common.out;
  RKHS_CHECK(f.feature_scaling == "standardized" || f.feature_scaling == "raw",
             "--feature-scaling must be standardized or raw, got '" + f.feature_scaling + "'");
  c.logistic.standardize = f.feature_scaling == "standardized";
  if (f.lambdas->count() > 0) c.logistic.grow = 0;
  auto r = jobs::run_ckn(c);
  if (!writes_outputs()) return;  // rank 0 reports for the world
  std::string png;
  if (!c.out_dir.empty()) {
    const std::string script =
        "set size ratio -1\nunset key\nunset xtics\nunset ytics\n"
        "set palette gray\nset title 'CKN first-layer filters'\n"
        "plot '" + c.out_dir + "/filters.dat' matrix with image\n";
    png = run_gnuplot(c.out_dir, "filters", script);
  }
  if (!f.common.json || isatty(STDOUT_FILENO)) {
    std::cout << std::fixed << std::setprecision(4) << "data            " << r.description << "\n"
              << "feature dim     " << r.feature_dim << "\n"
              << "lambda          " << std::defaultfloat << r.lambda << std::fixed
              << (r.lambdas.size() > 1 ? " (cross-validated on the training set)\n" : " (given)\n")
              << "train accuracy  " << r.train_accuracy << "\n"
              << "test accuracy   " << r.test_accuracy << "\n"
              << std::setprecision(1) << "time            " << r.train_seconds << " s (k-means " << r.kmeans_seconds
              << ", features " << r.feature_seconds << ", classifier " << r.classifier_seconds << ", supervised "
              << r.supervised_seconds << ")\n";
    if (!png.empty()) std::cout << "filters         " << png << "\n";
  }
  if (f.common.json) std::cout << r.to_json(r.config) << std::endl;
}

void add_data_flags(CLI::App* cmd, jobs::CknConfig& c) {
  cmd->add_option("--data", c.data.spec, "fashion-mnist | csv:PATH | libsvm:PATH | idx:IMAGES,LABELS")
      ->capture_default_str()->group("Data");
  cmd->add_option("--test", c.data.test_spec, "Separate test file (else --test-fraction of --data)")->group("Data");
  cmd->add_option("--test-fraction", c.data.test_fraction, "Stratified hold-out without --test")
      ->capture_default_str()->group("Data");
  cmd->add_option("--train-size", c.data.train_size, "Stratified training subset (0 = all)")->capture_default_str()->group("Data");
  cmd->add_option("--test-size", c.data.test_size, "Stratified test subset (0 = all)")->capture_default_str()->group("Data");
  cmd->add_option("--image-shape", c.image_shape, "CxHxW of flat rows (csv:, libsvm:); 784 values default to 1x28x28")
      ->group("Data");
  cmd->add_option("--image-norm", c.image_norm,
                  "Per image: standardize (minus mean, / std) | scale (/ root mean square, keeps a zero background)")
      ->capture_default_str()->group("Data");
}

void add_network_flags(CLI::App* cmd, jobs::CknConfig& c) {
  cmd->add_option("--filters", c.net.filters, "Filters per layer")->delimiter(',')->capture_default_str()->group("Model");
  cmd->add_option("--patch", c.net.patch, "Patch size per layer (odd; one value for all)")->delimiter(',')
      ->capture_default_str()->group("Model");
  cmd->add_option("--subsample", c.net.subsample, "Pooling factor per layer (one value for all)")->delimiter(',')
      ->capture_default_str()->group("Model");
  cmd->add_option("--sigma", c.net.sigma, "kappa(t) = exp((t - 1) / sigma^2) per layer (one value for all)")
      ->delimiter(',')->capture_default_str()->group("Model");
  cmd->add_option("--kernel", c.net.kernel, "exp | poly2 (kappa(t) = t^2)")->capture_default_str()->group("Model");
}

// k-means (unsupervised) and the supervised epochs.
void add_training_flags(CLI::App* cmd, CknFlags& f) {
  auto& c = f.config;
  const auto supervised = [&](CLI::Option* o) { f.supervised_only.push_back({o, {"supervised"}}); };
  cmd->add_option("--mode", c.mode, "unsupervised | supervised")->capture_default_str()->group("Training");
  cmd->add_option("--patches", c.unsupervised.patches, "Patches sampled per layer for k-means")
      ->capture_default_str()->group("Training");
  cmd->add_option("--kmeans-iterations", c.unsupervised.kmeans_iterations, "Maximum k-means iterations")
      ->capture_default_str()->group("Training");
  cmd->add_option("--sample-images", c.unsupervised.max_images, "Images the patches are sampled from (at most)")
      ->capture_default_str()->group("Training");
  supervised(cmd->add_option("--epochs", c.supervised.epochs, "Supervised: epochs of SGD on the filters")
      ->capture_default_str()->group("Training"));
  supervised(cmd->add_option("--lr", c.supervised.lr,
                             "Supervised: SGD learning rate (x0.1 at 50% and 75% of the epochs)")
      ->capture_default_str()->group("Training"));
  supervised(cmd->add_option("--optimizer", c.supervised.optimizer,
                  "Supervised: sgd (with --momentum, Mairal 2016) | adam (steps independent of the gradient's scale)")
      ->capture_default_str()->group("Training"));
  supervised(cmd->add_option("--momentum", c.supervised.momentum, "Supervised: SGD momentum")
      ->capture_default_str()->group("Training"));
  supervised(cmd->add_option("--batch-size", c.supervised.batch_size, "Supervised: SGD mini-batch size")
      ->capture_default_str()->group("Training"));
  supervised(cmd->add_option("--validation-fraction", c.supervised.validation_fraction,
                  "Supervised: hold this fraction of the training images out of the epochs, score it after every "
                  "epoch and keep the best state (the k-means start counts as epoch 0); 0: no hold-out, keep the "
                  "last epoch")
      ->capture_default_str()->group("Training"));
}

void add_classifier_flags(CLI::App* cmd, CknFlags& f) {
  auto& c = f.config;
  cmd->add_option("--classifier", c.logistic.loss,
                  "logistic (multinomial logistic regression) | squared-hinge (one-vs-rest squared hinge); also the "
                  "loss of the supervised epochs")
      ->capture_default_str()->group("Classifier");
  f.lambdas = cmd->add_option("--lambdas", c.logistic.lambdas,
                               "L2 weights of the classifier, cross-validated; when the default grid's smallest "
                               "(largest) value wins, the grid grows by a decade past it, up to twice (a grid given "
                               "here is used as given)")
      ->delimiter(',')->capture_default_str()->group("Classifier");
  cmd->add_option("--feature-scaling", f.feature_scaling,
                  "What lambda penalises: standardized (the weights of per-feature standardised features) | raw (the "
                  "weights of the features themselves, Mairal 2016's objective)")
      ->capture_default_str()->group("Classifier");
  cmd->add_option("--lbfgs-history", c.logistic.history, "L-BFGS memory of the classifier")->capture_default_str()->group("Classifier");
  cmd->add_option("--folds", c.logistic.folds, "Cross-validation folds (1: one hold-out fifth, for large sets)")->capture_default_str()->group("Classifier");
  cmd->add_option("--max-iterations", c.logistic.max_iterations, "L-BFGS iterations per fit (the cross-validation fits every fold and lambda in one run)")
      ->capture_default_str()->group("Classifier");
}

// The table's baselines instead of a CKN, and a saved model instead of training.
void add_baseline_flags(CLI::App* cmd, jobs::CknConfig& c) {
  cmd->add_option("--baseline", c.baseline,
                  "none (the CKN) | linear (logistic regression on the pixels) | rbf (on Nystrom RBF features of the "
                  "pixels), with the same cross-validated classifier")
      ->capture_default_str()->group("Model");
  cmd->add_option("--rbf-landmarks", c.rbf_landmarks, "RBF baseline: Nystrom landmarks (random training images)")
      ->capture_default_str()->group("Model");
  cmd->add_option("--rbf-gamma", c.rbf_gamma, "RBF baseline: exp(-gamma ||x - x'||^2); 0 = 1 / median squared distance")
      ->capture_default_str()->group("Model");
  cmd->add_option("--load", c.load, "Evaluate the model of an earlier --out DIR instead of training")->group("Model");
}

}  // namespace

void register_ckn(CLI::App& app) {
  auto f = std::make_shared<CknFlags>();
  auto& c = f->config;
  c.data.spec = "fashion-mnist";
  auto* cmd = app.add_subcommand("ckn",
                                 "Convolutional kernel network (paper 003): filters by spherical k-means per layer "
                                 "(unsupervised) or then trained by SGD through the network (supervised), a "
                                 "logistic-regression classifier with lambda chosen by cross-validation on the "
                                 "training set");
  add_common_flags(*cmd, f->common);
  add_data_flags(cmd, c);
  add_network_flags(cmd, c);
  add_training_flags(cmd, *f);
  add_classifier_flags(cmd, *f);
  add_baseline_flags(cmd, c);
  f->cmd = cmd;
  cmd->callback([f] { run(*f); });
}

}  // namespace rkhs::cli
