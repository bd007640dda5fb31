// rkhs eigen: NeuralEF or Nystrom eigenpairs of a kernel, against the exact eigendecomposition (paper 002).
#include "rkhs/jobs/eigen_job.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "rkhs/compat.h"
#include "rkhs/linear/logistic.h"
#include "rkhs/data/csv.h"
#include "rkhs/data/idx.h"
#include "rkhs/data/synthetic.h"
#include "rkhs/data/transform.h"
#include "rkhs/error.h"
#include "rkhs/spectral/nngp.h"
#include "rkhs/spectral/nystrom.h"
#include "rkhs/spectral/quality.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/run_folder.h"
#include "eigen_ntk.h"

namespace rkhs::jobs {

using json = nlohmann::json;

namespace {

std::vector<double> to_vector(const at::Tensor& t) {
  auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

struct Points {
  at::Tensor train, held;  // (n, d) and (heldout, d) float64
  std::string description;
  // fashion-mnist: the classification sets (float32 pixels in [-1, 1], flattened) and their labels, the held-out
  // labels; --kernel ntk: the two classes' full training set (labels 0/1) instead of classify_x.
  at::Tensor classify_x, classify_y, test_x, test_y, held_y, ntk_x, ntk_y, ood_x;
};

// "a,b" -> two distinct classes in [0, 10).
std::pair<int64_t, int64_t> parse_two_classes(const std::string& s) {
  const auto comma = s.find(',');
  try {
    RKHS_CHECK(comma != std::string::npos, "");
    size_t used = 0;
    const int64_t a = std::stoll(s.substr(0, comma), &used);
    RKHS_CHECK(used == comma, "");
    const int64_t b = std::stoll(s.substr(comma + 1), &used);
    RKHS_CHECK(used == s.size() - comma - 1 && a != b && a >= 0 && b >= 0 && a < 10 && b < 10, "");
    return {a, b};
  } catch (const std::exception&) {
    throw Error("--ntk-classes must be two distinct Fashion-MNIST classes 0..9 like 7,9, got '" + s + "'");
  }
}

// The rows of d whose label is a or b, relabelled 0 and 1.
data::Dataset two_classes(const data::Dataset& d, int64_t a, int64_t b) {
  auto keep = torch::nonzero(d.y.eq(a).logical_or(d.y.eq(b))).squeeze(1);
  auto out = d.subset(keep);
  out.y = out.y.eq(b).to(torch::kLong);
  out.num_classes = 2;
  return out;
}

// Fashion-MNIST with pixels scaled to [-1, 1] (the reference code's MNIST transform), flattened: the N training
// images and the first `classify_size` of the same seeded permutation of the training set, the held-out images from
// a seeded permutation of the test set.
Points load_fashion_mnist_points(const EigenConfig& c) {
  auto tr = data::load_fashion_mnist(true), te = data::load_fashion_mnist(false);
  const bool ntk = c.kernel == "ntk";
  at::Tensor ood;  // --kernel ntk: the test images of the other classes (out of distribution for the classifier)
  if (ntk) {
    const auto [a, b] = parse_two_classes(c.ntk_classes);
    auto others = torch::nonzero(te.y.ne(a).logical_and(te.y.ne(b))).squeeze(1);
    ood = te.x.index({others}).reshape({others.size(0), -1}).mul(2).sub_(1);
    tr = two_classes(tr, a, b);
    te = two_classes(te, a, b);
  }
  const int64_t classify = c.classify_size == 0 ? tr.size() : c.classify_size;
  RKHS_CHECK(c.n <= tr.size() && classify >= 1 && classify <= tr.size(),
             "--n and --classify-size must be at most the " + std::to_string(tr.size()) + " training images");
  RKHS_CHECK(c.heldout <= te.size(), "--heldout must be at most the " + std::to_string(te.size()) + " test images");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  const auto ix = torch::TensorOptions().dtype(torch::kLong);
  auto ptr = torch::randperm(tr.size(), gen, ix), pte = torch::randperm(te.size(), gen, ix);
  auto xtr = tr.x.reshape({tr.size(), -1}).mul(2).sub_(1), xte = te.x.reshape({te.size(), -1}).mul(2).sub_(1);
  Points p;
  p.train = xtr.index({ptr.slice(0, 0, c.n)}).to(torch::kFloat64);
  p.held = xte.index({pte.slice(0, 0, c.heldout)}).to(torch::kFloat64);
  p.held_y = te.y.index({pte.slice(0, 0, c.heldout)});
  p.test_x = xte;
  p.test_y = te.y;
  if (ntk) {
    p.ntk_x = xtr;
    p.ntk_y = tr.y;
    p.ood_x = ood;
    p.description = "fashion-mnist classes " + c.ntk_classes + " (pixels in [-1, 1]): " + std::to_string(c.n) +
                    " of the " + std::to_string(tr.size()) + " training images, " + std::to_string(c.heldout) +
                    " held-out test images for K-means";
    return p;
  }
  p.classify_x = xtr.index({ptr.slice(0, 0, classify)});
  p.classify_y = tr.y.index({ptr.slice(0, 0, classify)});
  p.description = "fashion-mnist (pixels in [-1, 1]): " + std::to_string(c.n) + " training images, " +
                  std::to_string(c.heldout) + " held-out test images; logistic regression on " +
                  std::to_string(classify) + " training and " + std::to_string(te.size()) + " test projections";
  return p;
}

// Training and held-out points (float64) and a description.
Points load_points(const EigenConfig& c, const std::string& kernel) {
  RKHS_CHECK(c.n >= 2 && c.heldout >= 1, "--n must be >= 2 and --heldout >= 1");
  if (c.data == "fashion-mnist") return load_fashion_mnist_points(c);
  if (c.data == "uniform1d") {
    // The paper's 1-D settings: U[-2, 2] for the RBF kernel, U[-1, 1] for the polynomial one.
    const double a = kernel == "polynomial" ? 1.0 : 2.0;
    auto train = data::make_uniform(c.n, -a, a, c.seed).x.to(torch::kFloat64);
    auto held = data::make_uniform(c.heldout, -a, a, c.seed + 7919).x.to(torch::kFloat64);
    Points p;
    p.train = train;
    p.held = held;
    p.description = "uniform1d: U[-" + std::to_string(a).substr(0, 3) + ", " + std::to_string(a).substr(0, 3) + "]";
    return p;
  }
  data::Dataset all;
  if (c.data == "moons") all = data::make_moons(c.n + c.heldout, 0.1, c.seed);
  else if (c.data == "circles") all = data::make_circles(c.n + c.heldout, 0.05, 0.5, c.seed);
  else if (c.data.rfind("csv:", 0) == 0) all = data::load_csv(c.data.substr(4));
  else throw Error("--data must be uniform1d, moons, circles, fashion-mnist or csv:PATH, got '" + c.data + "'");
  auto x = all.x.reshape({all.size(), -1}).to(torch::kFloat64);
  RKHS_CHECK(x.size(0) >= c.n + c.heldout, "--data " + c.data + " has " + std::to_string(x.size(0)) +
                                                " points, fewer than --n + --heldout = " + std::to_string(c.n + c.heldout));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  auto perm = torch::randperm(x.size(0), gen, torch::TensorOptions().dtype(torch::kLong));
  auto train = x.index({perm.slice(0, 0, c.n)});
  auto held = x.index({perm.slice(0, c.n, c.n + c.heldout)});
  if (c.data.rfind("csv:", 0) == 0) {  // features standardised with the training points' statistics
    const auto s = data::Standardizer::fit(train.to(torch::kFloat32));
    train = s.apply(train.to(torch::kFloat32)).to(torch::kFloat64);
    held = s.apply(held.to(torch::kFloat32)).to(torch::kFloat64);
  }
  Points p;
  p.train = train;
  p.held = held;
  p.description = c.data + ": " + std::to_string(c.n) + " training and " + std::to_string(c.heldout) + " held-out points";
  return p;
}

// The named kernels of `rkhs eigen` for points of dimension d, else a registry spec.
kernels::KernelPtr make_eigen_kernel(const EigenConfig& c, int64_t d) {
  const std::string& name = c.kernel;
  const bool images = c.data == "fashion-mnist";
  // The paper's kernels: 1-D (§4.1) and, on images, its MNIST choices found by grid search (appendix C).
  if (name == "rbf") return kernels::make_kernel(c.data == "uniform1d" ? "rbf:gamma=0.5" : images ? "rbf:gamma=0.005" : "rbf:gamma=1");
  if (name == "polynomial")
    return kernels::make_kernel(images ? "polynomial:degree=10,offset=1,scale=0.001" : "polynomial:degree=4,offset=1.5,scale=1");
  if (name == "nngp-mlp" || name == "nngp-relu" || name == "nngp-mlp-erf" || name == "nngp-erf") {
    spectral::NNGPOptions o;  // 2 hidden layers, width 16, S = 10000, w ~ N(0, 2 / fan_in), b ~ N(0, 1)
    o.input_dim = d;
    o.seed = c.seed + 104729;
    o.activation = name == "nngp-mlp" || name == "nngp-relu" ? "relu" : "erf";
    if (c.mc_samples > 0) o.samples = c.mc_samples;
    if (name == "nngp-relu" || name == "nngp-erf") return std::make_shared<spectral::NNGPAnalyticKernel>(o);
    return std::make_shared<spectral::NNGPMonteCarloKernel>(o);
  }
  if (name == "nngp-cnn") {
    RKHS_CHECK(images, "--kernel nngp-cnn needs images (--data fashion-mnist)");
    spectral::CNNGPOptions o;  // Conv5-ReLU-MaxPool2-Conv5-ReLU-MaxPool2-Linear-ReLU-Linear, width 16, S = 2000
    o.seed = c.seed + 104729;
    if (c.mc_samples > 0) o.samples = c.mc_samples;
    return std::make_shared<spectral::CNNGPMonteCarloKernel>(o);
  }
  RKHS_CHECK(name != "ntk", "--kernel ntk needs --data fashion-mnist");
  return kernels::make_kernel(name);
}

// The run folder: eigenfunctions.csv (held-out points sorted by their first coordinate with psi and the
// sign-matched reference), projections.csv for labelled points, entropy_histograms.csv for --kernel ntk, and
// config.json.
void write_run_folder(const EigenConfig& c, const EigenResult& r, const Points& points, const at::Tensor& psi_held,
                      const at::Tensor& ref_held) {
  const auto& held = points.held;
  core::RunFolder run(c.out_dir);
  auto order = std::get<1>(held.select(1, 0).sort());
  auto cols = std::vector<at::Tensor>{held.index({order}), psi_held.index({order})};
  const int64_t d = held.size(1);
  std::string header;
  for (int64_t i = 1; i <= d; ++i) header += (i > 1 ? ",x_" : "x_") + std::to_string(i);
  for (int64_t j = 1; j <= c.k; ++j) header += ",psi_" + std::to_string(j);
  if (ref_held.defined()) {
    auto sign = torch::sign((ref_held * psi_held).sum(0));
    cols.push_back((ref_held * torch::where(sign == 0, torch::ones_like(sign), sign)).index({order}));
    for (int64_t j = 1; j <= c.k; ++j) header += ",ref_" + std::to_string(j);
  }
  auto table = torch::cat(cols, 1).contiguous();
  auto a = table.accessor<double, 2>();
  std::string csv = header + "\n";
  char num[32];
  for (int64_t i = 0; i < table.size(0); ++i) {
    for (int64_t j = 0; j < table.size(1); ++j) {
      std::snprintf(num, sizeof num, j ? ",%.8g" : "%.8g", a[i][j]);
      csv += num;
    }
    csv += "\n";
  }
  run.write_text("eigenfunctions.csv", csv);
  if (points.held_y.defined()) {  // labelled held-out points: label, psi_1..psi_k (Figure 8's 3-D projections)
    std::string proj = "label";
    for (int64_t j = 1; j <= c.k; ++j) proj += ",psi_" + std::to_string(j);
    proj += "\n";
    auto pa = psi_held.contiguous();
    auto pv = pa.accessor<double, 2>();
    auto yc = points.held_y.to(torch::kLong).contiguous();
    auto ya = yc.accessor<int64_t, 1>();
    for (int64_t i = 0; i < pa.size(0); ++i) {
      proj += std::to_string(ya[i]);
      for (int64_t j = 0; j < c.k; ++j) {
        std::snprintf(num, sizeof num, ",%.6g", pv[i][j]);
        proj += num;
      }
      proj += "\n";
    }
    run.write_text("projections.csv", proj);
  }
  if (!r.laplace.empty()) {  // predictive-entropy histograms (fraction of images per bin over [0, ln 2])
    const int64_t bins = 20;
    std::string hist = "entropy";
    std::vector<at::Tensor> cols;
    for (const auto& l : r.laplace) {
      for (const auto& [split, h] : {std::pair<std::string, at::Tensor>{"in", l.entropies_in}, {"out", l.entropies_out}}) {
        hist += "," + l.name + "_" + split;
        auto idx = (h / std::log(2.0) * double(bins)).floor().clamp(0, bins - 1).to(torch::kLong);
        cols.push_back(torch::bincount(idx, {}, bins).to(torch::kFloat64) / double(h.numel()));
      }
    }
    hist += "\n";
    auto table = torch::stack(cols, 1).contiguous();
    auto t = table.accessor<double, 2>();
    for (int64_t b = 0; b < bins; ++b) {
      std::snprintf(num, sizeof num, "%.5f", (double(b) + 0.5) / double(bins) * std::log(2.0));
      hist += num;
      for (int64_t j = 0; j < table.size(1); ++j) {
        std::snprintf(num, sizeof num, ",%.5f", t[b][j]);
        hist += num;
      }
      hist += "\n";
    }
    run.write_text("entropy_histograms.csv", hist);
  }
  run.write_text("config.json", r.to_json(c) + "\n");
}

// The kernel of the run: --kernel ntk trains the binary classifier whose empirical NTK it is (and keeps it for
// the Laplace comparison); the others come from make_eigen_kernel.
struct KernelStage {
  kernels::KernelPtr kernel;
  std::optional<NTKClassifier> classifier;
};

// A feature map evaluated on `device`, answering float64 on the CPU.
FeatureMap on_device(const FeatureMap& f, c10::Device device) {
  return [f, device](const at::Tensor& x) { return f(x.to(device)).to(torch::kCPU, torch::kFloat64); };
}

KernelStage make_kernel_stage(const EigenConfig& c, const Points& points, const at::Tensor& train,
                              c10::Device device, EigenResult& r) {
  KernelStage s;
  if (c.kernel != "ntk" || c.data != "fashion-mnist") {
    s.kernel = make_eigen_kernel(c, train.size(1));
    return s;
  }
  spectral::NTKOptions no;
  no.method = c.ntk_method;
  no.samples = c.mc_samples > 0 ? c.mc_samples : 4000;
  no.seed = c.seed + 104729;
  auto clf = train_ntk_classifier(points.ntk_x.to(device), points.ntk_y.to(device), points.test_x.to(device),
                                  points.test_y.to(device), c.ntk_epochs, no, c.seed, c.progress);
  clf.logits = on_device(clf.logits, device);
  clf.last_layer = on_device(clf.last_layer, device);
  r.classifier_test_accuracy = clf.test_accuracy;
  r.classifier_seconds = clf.train_seconds;
  r.classifier_parameters = clf.parameters;
  const core::Stopwatch t;
  clf.kernel->normalise_on(train);  // mean diagonal 1 on the training points; their features are cached
  r.features_seconds = t.seconds();
  s.kernel = clf.kernel;
  s.classifier = clf;
  return s;
}

// The exact reference: eigendecomposition of the same sample, extended to the held-out points (eq. 8), when
// N <= reference_limit.
std::optional<spectral::NystromEigen> reference_stage(const EigenConfig& c, const kernels::KernelPtr& kernel,
                                                      const at::Tensor& train, EigenResult& r) {
  if (c.n > c.reference_limit) return std::nullopt;
  const core::Stopwatch t;
  auto reference = spectral::nystrom_eigen(kernel, train, c.k);
  r.reference_seconds = t.seconds();
  r.reference_eigenvalues = to_vector(reference.eigenvalues);
  r.reference_trace = reference.eigenvalues.sum().item<double>();
  r.null_pairs = reference.null_pairs;
  r.has_reference = true;
  return reference;
}

// The fitted eigenpairs: eigenvalues (CPU) and the eigenfunctions as a map (m, d) -> (m, k) float64.
struct Eigenpairs {
  at::Tensor eigenvalues;
  FeatureMap project;
};

Eigenpairs fit_nystrom(const kernels::KernelPtr& kernel, const at::Tensor& train, int64_t k,
                       const std::optional<spectral::NystromEigen>& reference, c10::Device device, EigenResult& r) {
  const core::Stopwatch t;
  auto nys = reference ? *reference : spectral::nystrom_eigen(kernel, train, k);
  r.train_seconds = reference ? r.reference_seconds : t.seconds();
  return {nys.eigenvalues.cpu(), on_device([nys](const at::Tensor& x) { return nys(x); }, device)};
}

// NeuralEF or SpIN networks trained on the training points (Monte Carlo kernels: on their cached features).
Eigenpairs fit_networks(EigenConfig c, const kernels::KernelPtr& kernel, const at::Tensor& train,
                        const std::optional<spectral::NystromEigen>& reference, c10::Device device, EigenResult& r) {
  c.net.k = c.k;
  c.net.input_dim = train.size(1);
  if (c.net.architecture == "cnn") {
    RKHS_CHECK(c.data == "fashion-mnist", "--arch cnn needs images (--data fashion-mnist)");
    c.net.image_shape = {1, 28, 28};
  }
  c.train.seed = c.seed;
  c.train.progress = c.progress;
  if (const auto* mc = dynamic_cast<const spectral::MonteCarloKernel*>(kernel.get())) {
    const core::Stopwatch t;
    auto phi = reference ? reference->features : mc->features_by_blocks(train);  // the reference's if any
    c.train.kernel_features = phi.to(torch::kFloat32) / std::sqrt(double(mc->samples()));  // K = Phi Phi^T
    // The reference's features were timed in its gram_seconds (and are part of reference_seconds).
    r.features_seconds += reference ? reference->gram_seconds : t.seconds();
  }
  torch::manual_seed(c.seed);
  spectral::NeuralEF net(c.net);
  net->to(device);
  auto rep = c.method == "spin" ? spectral::train_spin(net, kernel, train.to(torch::kFloat32), c.train, c.spin)
                                : spectral::train_neuralef(net, kernel, train.to(torch::kFloat32), c.train);
  r.train_seconds = rep.train_seconds;
  r.rayleigh_seconds = rep.rayleigh_seconds;
  r.ema_eigenvalues = to_vector(rep.ema_eigenvalues);
  r.captured_trace = rep.captured_trace;
  r.rayleigh_ritz = rep.rayleigh_ritz;
  auto project = on_device(
      [net](const at::Tensor& x) mutable {
        torch::NoGradGuard g;
        return net->forward(x.to(torch::kFloat32));
      },
      device);
  return {rep.eigenvalues, project};
}

// --kernel ntk, §4.2.2: K-means with two clusters on the projections and on the pixels; §4.3: MAP, last-layer
// Laplace and the linearised Laplace approximation with the eigenfunctions (eq. 22).
void evaluate_ntk(const EigenConfig& c, const Points& points, const NTKClassifier& classifier, const Eigenpairs& e,
                  const at::Tensor& psi_held, EigenResult& r) {
  const auto& held_y = points.held_y;
  r.has_clusters = true;
  r.kmeans_accuracy = spectral::cluster_accuracy(spectral::kmeans_labels(psi_held, 2, c.seed), held_y, 2);
  r.kmeans_pixels_accuracy = spectral::cluster_accuracy(spectral::kmeans_labels(points.held, 2, c.seed), held_y, 2);
  // Kernel-PCA coordinates psi_j sqrt(mu_j): the feature map of the rank-k approximation K ~ sum_j mu_j psi_j psi_j.
  const auto mu = e.eigenvalues.to(torch::kFloat64).clamp_min(0);
  auto scaled = psi_held * mu.sqrt().unsqueeze(0);
  r.kmeans_scaled_accuracy = spectral::cluster_accuracy(spectral::kmeans_labels(scaled, 2, c.seed), held_y, 2);
  const double scale2 = classifier.kernel->scale() * classifier.kernel->scale();  // K = scale^2 K_normalised
  auto root_mu = (mu * scale2).sqrt().unsqueeze(0);
  const auto& project = e.project;
  r.laplace = compare_laplace(classifier, [&](const at::Tensor& x) { return in_blocks(x, project) * root_mu; },
                              points.ntk_x, points.test_x, points.test_y, points.ood_x, c.seed, &r.prior_variance);
}

// Table 1: multinomial logistic regression on the k-D projections of the training images, tested on the test set's.
void evaluate_classification(const EigenConfig& c, const Points& points, const FeatureMap& project, EigenResult& r) {
  const core::Stopwatch t;
  auto ztr = in_blocks(points.classify_x, project).to(torch::kFloat32);
  auto zte = in_blocks(points.test_x, project).to(torch::kFloat32);
  r.projection_seconds = t.seconds();
  RKHS_CHECK(torch::isfinite(ztr).all().item<bool>() && torch::isfinite(zte).all().item<bool>(),
             "eigen: the projections have NaN or infinite entries");
  linear::LogisticOptions lo;
  lo.seed = c.seed;
  const auto model = linear::fit_logistic_cv(ztr, points.classify_y, 10, lo);
  r.has_classifier = true;
  r.logistic_lambda = model.lambda;
  r.logistic_train_accuracy = linear::accuracy(model.predict(ztr), points.classify_y);
  r.logistic_test_accuracy = linear::accuracy(model.predict(zte), points.test_y);
  r.classify_train_size = ztr.size(0);
  r.classify_test_size = zte.size(0);
}

// The rank-k reconstruction of the kernel matrix of (at most 2000 of) the held-out points, and the best any rank k
// can do there (an m x m eigendecomposition, so m is capped).
void evaluate_reconstruction(const kernels::KernelPtr& kernel, const at::Tensor& held, const at::Tensor& psi_held,
                             const at::Tensor& eigenvalues, int64_t k, c10::Device device, EigenResult& r) {
  torch::NoGradGuard g;
  const int64_t m = std::min<int64_t>(held.size(0), 2000);
  const auto hd = held.slice(0, 0, m).to(device);
  const auto kh = kernel->gram(hd, hd).to(torch::kCPU, torch::kFloat64);
  r.reconstruction_error = spectral::reconstruction_error(kh, psi_held.slice(0, 0, m), eigenvalues);
  r.best_rank_k_error = spectral::best_rank_k_error(kh, k);
}

// Eigenvalue errors and eigenfunction alignments against the reference on the held-out points.
void evaluate_against_reference(const EigenConfig& c, const at::Tensor& eigenvalues, const at::Tensor& psi_held,
                                const spectral::NystromEigen& reference, const at::Tensor& ref_held, EigenResult& r) {
  r.rel_error = to_vector(spectral::eigenvalue_relative_error(eigenvalues, reference.eigenvalues.cpu()));
  r.alignment = to_vector(spectral::alignment(psi_held, ref_held));
  // Eigenpairs whose reference eigenvalue is numerically zero have no eigenfunction to compare with: NaN (null).
  for (int64_t j = c.k - r.null_pairs; j < c.k; ++j) r.rel_error[j] = r.alignment[j] = NAN;
}

void check_eigen_config(const EigenConfig& c) {
  RKHS_CHECK(c.method == "neuralef" || c.method == "nystrom" || c.method == "spin",
             "--method must be neuralef, nystrom or spin, got '" + c.method + "'");
  RKHS_CHECK(c.method != "spin" || (c.kernel != "ntk" && c.net.architecture == "mlp" && !c.net.shared_trunk),
             "--method spin: implemented for separate MLPs (--arch mlp, no --shared-trunk) and not for --kernel ntk");
  RKHS_CHECK(c.k >= 1 && c.k <= c.n, "--k must be in [1, --n]");
}

}  // namespace

// Stages: load the points -> the kernel -> the reference -> fit the eigenpairs -> evaluate -> report.
EigenResult run_eigen(EigenConfig c) {
  check_eigen_config(c);
  EigenResult r;
  const auto device = compat::parse_device(c.device);
  auto points = load_points(c, c.kernel);
  r.data_description = points.description;
  auto& dist = core::DistWorld::get();
  if (dist.active()) {  // docs/DISTRIBUTED.md: the reference's kernel matrix by row blocks, the networks' batches
                        // sharded, the rest on every rank; rank 0 evaluates
    RKHS_CHECK(c.kernel != "ntk", "--kernel ntk runs in one process only (its classifier is not trained "
                                  "data-parallel yet); WORLD_SIZE=" + std::to_string(dist.size()));
    dist.check_same("configuration", r.to_json(c) + " data " + points.description);
  }
  // The points stay on the CPU for the measurements; the kernel, the eigendecompositions and the networks work
  // on device copies.
  const auto& held = points.held;
  const auto train = points.train.to(device);
  const auto ks = make_kernel_stage(c, points, train, device, r);
  const auto& kernel = ks.kernel;
  r.kernel_spec = kernel->name();
  const auto reference = reference_stage(c, kernel, train, r);
  const auto e = c.method == "nystrom" ? fit_nystrom(kernel, train, c.k, reference, device, r)
                                       : fit_networks(c, kernel, train, reference, device, r);
  r.world_size = core::DistWorld::get().size();
  r.comm_seconds = core::DistWorld::get().comm_seconds();
  if (!core::DistWorld::get().is_root()) return r;  // several processes: rank 0 alone evaluates and reports
  const auto psi_held = in_blocks(held, e.project);
  if (points.ntk_x.defined()) evaluate_ntk(c, points, *ks.classifier, e, psi_held, r);
  if (points.classify_x.defined()) evaluate_classification(c, points, e.project, r);
  r.eigenvalues = to_vector(e.eigenvalues);
  r.orthogonality = spectral::orthogonality_error(psi_held);
  evaluate_reconstruction(kernel, held, psi_held, e.eigenvalues, c.k, device, r);
  // The reference on the held-out points, once (for Monte Carlo kernels each point costs S network evaluations);
  // with --method nystrom it is psi_held itself.
  at::Tensor ref_held;
  if (reference) {
    ref_held = c.method == "nystrom" ? psi_held : in_blocks(held, on_device(*reference, device));
    evaluate_against_reference(c, e.eigenvalues, psi_held, *reference, ref_held, r);
  }
  if (!c.out_dir.empty()) write_run_folder(c, r, points, psi_held, ref_held);
  return r;
}

std::string EigenResult::to_json(const EigenConfig& c) const {
  json j;
  j["command"] = "eigen";
  j["kernel"] = c.kernel;
  j["kernel_spec"] = kernel_spec;
  j["data"] = c.data;
  j["data_description"] = data_description;
  j["n"] = c.n;
  j["heldout"] = c.heldout;
  j["k"] = c.k;
  j["method"] = c.method;
  j["seed"] = c.seed;
  j["device"] = c.device;
  if (c.method != "nystrom") {
    if (c.method == "spin") j["spin_decay"] = c.spin.decay;
    j["iterations"] = c.train.iterations;
    j["batch_size"] = std::min(c.train.batch_size, c.n);
    j["ema_eigenvalues"] = ema_eigenvalues;
    j["rayleigh_seconds"] = rayleigh_seconds;
    j["captured_trace"] = captured_trace;
    j["rayleigh_ritz"] = rayleigh_ritz;
  }
  j["eigenvalues"] = eigenvalues;
  j["reference_eigenvalues"] = has_reference ? json(reference_eigenvalues) : json(nullptr);
  j["reference_trace"] = has_reference ? json(reference_trace) : json(nullptr);
  // NaN entries (numerically zero reference eigenvalues) become null.
  auto nan_to_null = [](const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(std::isnan(x) ? json(nullptr) : json(x));
    return a;
  };
  j["eigenvalue_rel_error"] = has_reference ? nan_to_null(rel_error) : json(nullptr);
  j["alignment"] = has_reference ? nan_to_null(alignment) : json(nullptr);
  j["null_pairs"] = null_pairs;
  j["orthogonality"] = orthogonality;
  j["reconstruction_error"] = reconstruction_error;
  j["best_rank_k_error"] = best_rank_k_error;
  j["train_seconds"] = train_seconds;
  j["world_size"] = world_size;
  j["comm_seconds"] = comm_seconds;
  j["reference_seconds"] = reference_seconds;
  if (features_seconds > 0) j["features_seconds"] = features_seconds;
  if (c.mc_samples > 0) j["mc_samples"] = c.mc_samples;
  if (has_clusters) {
    j["ntk_classes"] = c.ntk_classes;
    j["ntk_epochs"] = c.ntk_epochs;
    j["classifier_test_accuracy"] = classifier_test_accuracy;
    j["classifier_seconds"] = classifier_seconds;
    j["classifier_parameters"] = classifier_parameters;
    j["kmeans_accuracy"] = kmeans_accuracy;
    j["kmeans_pixels_accuracy"] = kmeans_pixels_accuracy;
    j["kmeans_scaled_accuracy"] = kmeans_scaled_accuracy;
    j["prior_variance"] = prior_variance;
    json la = json::object();
    for (const auto& l : laplace)
      la[l.name] = {{"accuracy", l.accuracy}, {"nll", l.nll}, {"ece", l.ece}, {"entropy_in", l.entropy_in},
                    {"entropy_out", l.entropy_out}, {"ood_auroc", l.ood_auroc}, {"mean_variance_in", l.mean_variance_in}};
    j["laplace"] = la;
  }
  if (has_classifier) {
    j["logistic_train_accuracy"] = logistic_train_accuracy;
    j["logistic_test_accuracy"] = logistic_test_accuracy;
    j["logistic_lambda"] = logistic_lambda;
    j["classify_train_size"] = classify_train_size;
    j["classify_test_size"] = classify_test_size;
    j["projection_seconds"] = projection_seconds;
  }
  return j.dump();
}

}  // namespace rkhs::jobs
