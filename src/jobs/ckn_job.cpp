// rkhs ckn: images -> convolutional kernel network (paper 003) -> logistic regression -> accuracies.
#include "rkhs/jobs/ckn_job.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rkhs/ckn/baselines.h"
#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/run_folder.h"
#include "rkhs/core/state.h"

namespace rkhs::jobs {

using json = nlohmann::json;

namespace {

// What model.pt holds: the network's filters and the classifier (as buffers).
struct SavedModelImpl : torch::nn::Module {
  SavedModelImpl(ckn::Network network, int64_t classes, int64_t dim) {
    net = register_module("network", std::move(network));
    weight = register_buffer("classifier_weight", torch::zeros({classes, dim}));
    bias = register_buffer("classifier_bias", torch::zeros({classes}));
  }
  ckn::Network net{nullptr};
  at::Tensor weight, bias;
};

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The lambdas the classifier's cross-validation tried (the grid and the values it grew by), or the one given.
std::vector<double> tried_lambdas(const CknConfig& c, const ckn::LogisticModel& clf) {
  return clf.cv_lambdas.empty() ? c.logistic.lambdas : clf.cv_lambdas;
}

json network_json(const ckn::NetworkOptions& o) {
  return {{"in_channels", o.in_channels}, {"filters", o.filters}, {"patch", o.patch}, {"subsample", o.subsample},
          {"sigma", o.sigma}, {"kernel", o.kernel}};
}

// The first layer's filters as one matrix for `plot ... matrix with image`: a grid of tiles, one per filter,
// channels side by side inside a tile, NaN between tiles.
std::string filter_matrix(const ckn::CKNLayer& layer) {
  const auto& o = layer->options;
  auto z = layer->filters.detach().to(torch::kCPU, torch::kFloat64).view({o.filters, o.in_channels, o.patch, o.patch});
  const int64_t cols = static_cast<int64_t>(std::ceil(std::sqrt(double(o.filters))));
  const int64_t rows = (o.filters + cols - 1) / cols;
  const int64_t tw = o.in_channels * (o.patch + 1), th = o.patch + 1;
  std::vector<std::vector<double>> m(rows * th, std::vector<double>(cols * tw, NAN));
  auto a = z.accessor<double, 4>();
  for (int64_t f = 0; f < o.filters; ++f)
    for (int64_t c = 0; c < o.in_channels; ++c)
      for (int64_t i = 0; i < o.patch; ++i)
        for (int64_t j = 0; j < o.patch; ++j)
          m[(f / cols) * th + i][(f % cols) * tw + c * (o.patch + 1) + j] = a[f][c][i][j];
  std::ostringstream out;
  for (auto it = m.rbegin(); it != m.rend(); ++it) {  // gnuplot's y axis points up
    for (size_t j = 0; j < it->size(); ++j) out << (j ? " " : "") << (std::isnan((*it)[j]) ? "NaN" : std::to_string((*it)[j]));
    out << "\n";
  }
  return out.str();
}

struct SavedDescription {
  ckn::NetworkOptions net;
  double lambda = 0;
  std::string image_norm = "standardize";
};

SavedDescription read_saved_description(const std::string& path) {
  std::ifstream in(path);
  RKHS_CHECK(in, "--load: cannot read " + path);
  try {
    const json j = json::parse(in);
    const auto& n = j.at("network");
    SavedDescription d;
    d.lambda = j.at("lambda").get<double>();
    d.image_norm = j.value("image_norm", std::string("standardize"));
    auto& o = d.net;
    o.in_channels = n.at("in_channels").get<int64_t>();
    o.filters = n.at("filters").get<std::vector<int64_t>>();
    o.patch = n.at("patch").get<std::vector<int64_t>>();
    o.subsample = n.at("subsample").get<std::vector<int64_t>>();
    o.sigma = n.at("sigma").get<std::vector<double>>();
    o.kernel = n.at("kernel").get<std::string>();
    return d;
  } catch (const json::exception& e) {
    throw Error("--load: " + path + " is not a CKN model description: " + e.what());
  }
}

// The linear and RBF baselines on the pixels, with the CKN's classifier.
CknResult run_baseline(const CknConfig& c, const at::Tensor& images, const at::Tensor& y, const at::Tensor& test_images,
                       const at::Tensor& ty, int64_t classes, CknResult r) {
  const auto start = std::chrono::steady_clock::now();
  auto x = images.flatten(1), tx = test_images.flatten(1);
  at::Tensor f, tf;
  if (c.baseline == "linear") {
    f = x;
    tf = tx;
  } else {
    const double gamma = c.rbf_gamma > 0 ? c.rbf_gamma : ckn::median_heuristic_gamma(x, c.seed);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(c.seed + 1);
    const int64_t m = std::min(c.rbf_landmarks, x.size(0));
    auto idx = torch::randperm(x.size(0), gen, torch::TensorOptions().dtype(torch::kLong)).slice(0, 0, m).to(x.device());
    std::ostringstream spec;
    spec.precision(17);
    spec << "rbf:gamma=" << gamma;
    ckn::NystromFeatures phi(spec.str(), x.index({idx}));
    r.rbf_gamma = gamma;
    f = phi(x);
    tf = phi(tx);
  }
  r.feature_seconds = since(start);
  r.feature_dim = f.size(1);
  auto t = std::chrono::steady_clock::now();
  auto clf = linear::fit_logistic_cv(f, y, classes, c.logistic);
  r.classifier_seconds = since(t);
  r.train_seconds = since(start);
  r.lambda = clf.lambda;
  r.lambdas = tried_lambdas(c, clf);
  r.cv_accuracy = clf.cv_accuracy;
  r.train_accuracy = linear::accuracy(clf.predict(f), y);
  r.test_accuracy = linear::accuracy(clf.predict(tf), ty);
  return r;
}

void check_ckn_config(const CknConfig& c) {
  RKHS_CHECK(c.mode == "unsupervised" || c.mode == "supervised",
             "--mode must be unsupervised or supervised, got '" + c.mode + "'");
  RKHS_CHECK(c.baseline == "none" || c.baseline == "linear" || c.baseline == "rbf",
             "--baseline must be none, linear or rbf, got '" + c.baseline + "'");
  RKHS_CHECK(c.baseline == "none" || c.load.empty(), "--baseline and --load exclude each other");
  RKHS_CHECK(c.image_norm == "standardize" || c.image_norm == "scale",
             "--image-norm must be standardize or scale, got '" + c.image_norm + "'");
  // Every option is checked before the data are loaded, not when its stage is reached (minutes later).
  linear::check(c.logistic);
  if (c.baseline == "none" && c.load.empty()) {  // the options of the stages that will run
    ckn::check(c.unsupervised);
    if (c.mode == "supervised") ckn::check(c.supervised);
  }
  RKHS_CHECK(c.rbf_landmarks >= 1 && c.rbf_gamma >= 0, "--rbf-landmarks must be >= 1 and --rbf-gamma >= 0");
}

// Image shape: the data's own (IDX), --image-shape for flat rows, or 1x28x28 for 784 values.
std::vector<int64_t> image_shape_of(const CknConfig& c, const data::Dataset& train) {
  std::vector<int64_t> shape = train.sample_shape();
  if (!c.image_shape.empty()) {
    const auto want = parse_image_shape(c.image_shape);
    int64_t flat = 1, numel = 1;
    for (auto d : want) flat *= d;
    for (auto d : shape) numel *= d;
    RKHS_CHECK(flat == numel, "--image-shape " + c.image_shape + " has " + std::to_string(flat) +
                                  " values per image but the data has " + std::to_string(numel));
    shape = want;
  } else if (shape.size() == 1 && shape[0] == 784) {
    shape = {1, 28, 28};
  }
  RKHS_CHECK(shape.size() == 3, "--data " + c.data.spec + ": the samples are not images; give --image-shape CxHxW");
  return shape;
}

// The images, standardised per image (or scaled), on the device.
struct Images {
  at::Tensor x, y, tx, ty;
  int64_t classes = 0;
};

Images prepare_images(const CknConfig& c, const DataSplit& data, const std::vector<int64_t>& shape,
                      c10::Device device) {
  const std::vector<int64_t> full = {-1, shape[0], shape[1], shape[2]};
  const bool centre = c.image_norm == "standardize";
  Images im;
  im.x = ckn::standardize_images(data.train.x.reshape(full), centre).to(device);
  im.tx = ckn::standardize_images(data.test.x.reshape(full), centre).to(device);
  im.y = data.train.y.to(device);
  im.ty = data.test.y.to(device);
  im.classes = data.train.num_classes;
  return im;
}

void print_cross_validation(const CknConfig& c, const ckn::LogisticModel& clf, double seconds) {
  if (!clf.cv_accuracy.empty()) {
    std::fprintf(stderr, "classifier: lambda %g chosen by %lld-fold cross-validation (", clf.lambda,
                 (long long)c.logistic.folds);
    for (size_t i = 0; i < clf.cv_accuracy.size(); ++i)
      std::fprintf(stderr, "%s%g: %.4f", i ? ", " : "", clf.cv_lambdas[i], clf.cv_accuracy[i]);
    std::fprintf(stderr, "), %.1f s\n", seconds);
  } else {
    std::fprintf(stderr, "classifier: lambda %g (given), %.1f s\n", clf.lambda, seconds);
  }
}

// The trained classifier and the training images' features it was trained on.
struct Fitted {
  ckn::LogisticModel clf;
  at::Tensor train_features;
};

// Unsupervised filters (spherical K-means) and the training images' features (on rank 0 only with root_only).
at::Tensor learn_filters(CknConfig c, ckn::Network& net, const Images& im, CknResult& r, bool root_only) {
  c.unsupervised.progress = c.progress;
  auto rep = ckn::train_unsupervised(net, im.x, c.unsupervised);
  r.kmeans_seconds = rep.seconds;
  r.kmeans_cosine = rep.mean_cosine;
  core::Stopwatch t;
  auto features = net->extract(im.x, c.batch_size, c.progress, root_only);
  r.feature_seconds = t.seconds();
  return features;
}

// The logistic classifier on the filters' features and, with --mode supervised, the end-to-end fine-tuning of
// filters and classifier.
Fitted fit_classifier(CknConfig c, ckn::Network& net, const Images& im, at::Tensor features, CknResult& r) {
  Fitted f;
  f.train_features = std::move(features);
  const core::Stopwatch tc;
  f.clf = linear::fit_logistic_cv(f.train_features, im.y, im.classes, c.logistic);
  r.classifier_seconds = tc.seconds();
  r.cv_accuracy = f.clf.cv_accuracy;
  if (c.progress) print_cross_validation(c, f.clf, r.classifier_seconds);
  if (c.mode != "supervised") return f;
  c.supervised.progress = c.progress;
  auto sup = ckn::train_supervised(net, im.x, im.y, im.classes, f.clf, c.logistic, c.supervised,
                                   std::move(f.train_features));
  r.supervised_seconds = sup.seconds;
  r.supervised_loss = sup.train_loss;
  r.supervised_start_loss = sup.start_loss;
  r.supervised_lr = sup.lr;
  r.supervised_classifier_norm = sup.classifier_norm;
  r.supervised_restarts = sup.restarts;
  r.supervised_validation_accuracy = sup.validation_accuracy;
  r.supervised_best_epoch = sup.best_epoch;
  f.train_features = std::move(sup.features);
  return f;
}

// Several processes (docs/DISTRIBUTED.md): the CKN's patch sampling, k-means, features and supervised steps are
// sharded; the baselines run in one process.
void check_data_parallel(const CknConfig& c, const DataSplit& data) {
  auto& dist = core::DistWorld::get();
  if (!dist.active()) return;
  RKHS_CHECK(c.baseline == "none", "--baseline " + c.baseline + " runs in one process only (WORLD_SIZE=" +
                                       std::to_string(dist.size()) + ")");
  CknResult none;
  dist.check_same("configuration", none.to_json(c) + " data " + data.description + " " +
                                       std::to_string(data.train.size()) + "/" + std::to_string(data.test.size()));
}

// The run folder: model.pt with its model.json, filters.dat and config.json.
void write_ckn_run(const CknConfig& c, SavedModelImpl& model, const ckn::LogisticModel& clf,
                   const std::vector<int64_t>& shape, int64_t classes, const CknResult& r) {
  core::RunFolder run(c.out_dir);
  {
    torch::NoGradGuard g;
    model.weight.copy_(clf.weight);
    model.bias.copy_(clf.bias);
  }
  json sidecar = {{"model", "ckn"},        {"network", network_json(c.net)}, {"image_shape", shape},
                  {"classes", classes},    {"feature_dim", r.feature_dim},  {"lambda", clf.lambda},
                  {"image_norm", c.image_norm}, {"torch", compat::torch_version()}};
  run.save_model(model, sidecar.dump(2) + "\n");
  run.write_text("filters.dat", filter_matrix(model.net->layer(0)));
  run.write_text("config.json", r.to_json(c) + "\n");
}

}  // namespace

std::vector<int64_t> parse_image_shape(const std::string& text) {
  std::vector<int64_t> dims;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    RKHS_CHECK(!part.empty() && part.find_first_not_of("0123456789") == std::string::npos && part.size() < 10,
               "--image-shape '" + text + "': expected CxHxW with positive integers, e.g. 1x28x28");
    dims.push_back(std::stoll(part));
    RKHS_CHECK(dims.back() > 0, "--image-shape '" + text + "': sizes must be positive");
  }
  RKHS_CHECK(dims.size() == 3, "--image-shape '" + text + "': expected CxHxW, e.g. 1x28x28");
  return dims;
}

// Stages: load the images -> (a baseline, or) the network's filters and classifier, trained or loaded ->
// evaluate -> report.
CknResult run_ckn(CknConfig c) {
  check_ckn_config(c);
  c.supervised.seed = c.unsupervised.seed = c.logistic.seed = c.seed;
  SavedDescription saved;
  if (!c.load.empty()) {  // the saved architecture and preprocessing replace the flags
    saved = read_saved_description(c.load + "/model.json");
    c.net = saved.net;
    c.image_norm = saved.image_norm;
  }
  const auto device = compat::parse_device(c.device);
  const core::Stopwatch begin;
  c.data.standardize = false;  // per-image standardisation below
  c.data.seed = c.seed;
  DataSplit data = load_data(c.data);
  check_data_parallel(c, data);
  CknResult r;
  r.description = data.description + "; images standardised per image";
  const auto shape = image_shape_of(c, data.train);
  r.image_shape = shape;
  const auto im = prepare_images(c, data, shape, device);
  r.train_size = im.x.size(0);
  r.test_size = im.tx.size(0);
  if (c.baseline != "none") {
    r = run_baseline(c, im.x, im.y, im.tx, im.ty, im.classes, std::move(r));
    r.total_seconds = begin.seconds();
    r.config = c;
    if (!c.out_dir.empty()) core::RunFolder(c.out_dir).write_text("config.json", r.to_json(c) + "\n");
    return r;
  }
  RKHS_CHECK(c.load.empty() || c.net.in_channels == shape[0],
             "--load: the model was trained on images with " + std::to_string(c.net.in_channels) +
                 " channels, the data has " + std::to_string(shape[0]));
  c.net.in_channels = shape[0];
  torch::manual_seed(c.seed);
  ckn::Network net(c.net);
  r.feature_dim = net->feature_dim(shape[1], shape[2]);
  auto model = std::make_shared<SavedModelImpl>(net, im.classes, r.feature_dim);
  model->to(device);
  const core::Stopwatch start;
  Fitted f;
  if (!c.load.empty()) core::load_weights(c.load + "/model.pt", *model);
  // Without supervised training the filters are final after k-means: the training and test images' features are
  // extracted while every rank takes its share and gathered to rank 0, which fits the classifier alone and
  // reports; the other ranks are done. Supervised training runs on every rank (docs/DISTRIBUTED.md).
  const bool final_filters = c.mode != "supervised" || !c.load.empty();
  auto features = c.load.empty() ? learn_filters(c, net, im, r, final_filters)
                                 : net->extract(im.x, c.batch_size, c.progress, final_filters);
  const core::Stopwatch tt;
  at::Tensor test_features;
  if (final_filters) test_features = net->extract(im.tx, c.batch_size, c.progress, /*root_only=*/true);
  const double test_feature_seconds = tt.seconds();
  auto& dist = core::DistWorld::get();
  r.world_size = dist.size();
  if (final_filters && !dist.is_root()) return r;
  if (final_filters && dist.active() && c.solo_threads > 0) torch::set_num_threads(c.solo_threads);
  if (!c.load.empty()) {
    f.clf.weight = model->weight;
    f.clf.bias = model->bias;
    f.clf.lambda = saved.lambda;
    f.train_features = std::move(features);
  } else {
    f = fit_classifier(c, net, im, std::move(features), r);
  }
  r.train_seconds = start.seconds() - test_feature_seconds;
  r.lambda = f.clf.lambda;
  r.lambdas = tried_lambdas(c, f.clf);
  if (!test_features.defined()) test_features = net->extract(im.tx, c.batch_size, c.progress);
  if (!dist.is_root()) return r;
  r.train_accuracy = linear::accuracy(f.clf.predict(f.train_features), im.y);
  r.test_accuracy = linear::accuracy(f.clf.predict(test_features), im.ty);
  r.comm_seconds = dist.comm_seconds();
  r.total_seconds = begin.seconds();
  r.config = c;
  if (!c.out_dir.empty()) write_ckn_run(c, *model, f.clf, shape, im.classes, r);
  return r;
}

std::string CknResult::to_json(const CknConfig& c) const {
  json j;
  j["command"] = "ckn";
  j["data"] = c.data.spec;
  j["data_description"] = description;
  j["image_shape"] = image_shape;
  j["train_size"] = train_size;
  j["test_size"] = test_size;
  j["mode"] = c.baseline != "none" ? "baseline" : c.load.empty() ? c.mode : "loaded";
  j["baseline"] = c.baseline;
  j["image_norm"] = c.image_norm;
  if (c.baseline == "rbf") {
    j["rbf_landmarks"] = c.rbf_landmarks;
    j["rbf_gamma"] = rbf_gamma;
  }
  j["filters"] = c.net.filters;
  j["patch"] = c.net.patch;
  j["subsample"] = c.net.subsample;
  j["sigma"] = c.net.sigma;
  j["kernel"] = c.net.kernel;
  j["seed"] = c.seed;
  j["feature_dim"] = feature_dim;
  j["classifier"] = c.logistic.loss;
  j["feature_scaling"] = c.logistic.standardize ? "standardized" : "raw";
  j["lambda"] = lambda;
  j["lambdas"] = lambdas;
  j["cv_accuracy"] = cv_accuracy;
  j["kmeans_patches"] = c.unsupervised.patches;
  j["kmeans_cosine"] = kmeans_cosine;
  if (c.mode == "supervised") {
    j["epochs"] = c.supervised.epochs;
    j["optimizer"] = c.supervised.optimizer;
    j["supervised_loss"] = supervised_loss;
    j["supervised_start_loss"] = supervised_start_loss;
    j["supervised_lr"] = supervised_lr;
    j["supervised_classifier_norm"] = supervised_classifier_norm;
    j["supervised_restarts"] = supervised_restarts;
    j["validation_fraction"] = c.supervised.validation_fraction;
    j["supervised_validation_accuracy"] = supervised_validation_accuracy;
    j["supervised_best_epoch"] = supervised_best_epoch;
  }
  j["train_accuracy"] = train_accuracy;
  j["test_accuracy"] = test_accuracy;
  j["train_seconds"] = train_seconds;
  j["total_seconds"] = total_seconds;
  j["kmeans_seconds"] = kmeans_seconds;
  j["feature_seconds"] = feature_seconds;
  j["classifier_seconds"] = classifier_seconds;
  j["supervised_seconds"] = supervised_seconds;
  j["world_size"] = world_size;
  j["comm_seconds"] = comm_seconds;
  if (!c.load.empty()) j["loaded"] = c.load;
  return j.dump();
}

}  // namespace rkhs::jobs
