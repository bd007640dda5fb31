#include "rkhs/ckn/network.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "rkhs/ckn/kmeans.h"
#include "rkhs/error.h"
#include "rkhs/train/progress.h"
#include "rkhs/warn.h"

namespace rkhs::ckn {

namespace {

template <typename T>
T pick(const std::vector<T>& values, size_t i, size_t layers, const char* name) {
  RKHS_CHECK(values.size() == 1 || values.size() == layers,
             std::string("CKN: --") + name + " needs one value or one per layer (" + std::to_string(layers) +
                 " layers), got " + std::to_string(values.size()));
  return values.size() == 1 ? values[0] : values[i];
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Restores the module's training flag on scope exit.
struct ModeGuard {
  torch::nn::Module& m;
  bool was;
  ModeGuard(torch::nn::Module& module, bool training) : m(module), was(module.is_training()) { m.train(training); }
  ~ModeGuard() {
    if (m.is_training() != was) m.train(was);
  }
};

}  // namespace

LayerOptions NetworkOptions::layer(size_t i) const {
  RKHS_CHECK(!filters.empty(), "CKN: at least one layer (--filters) is needed");
  const size_t n = filters.size();
  RKHS_CHECK(i < n, "CKN: layer index out of range");
  LayerOptions o;
  o.in_channels = i == 0 ? in_channels : filters[i - 1];
  o.filters = filters[i];
  o.patch = pick(patch, i, n, "patch");
  o.subsample = pick(subsample, i, n, "subsample");
  o.sigma = pick(sigma, i, n, "sigma");
  o.kernel = kernel;
  return o;
}

at::Tensor standardize_images(const at::Tensor& x, bool centre) {
  RKHS_CHECK(x.dim() >= 2 && x.size(0) > 0, "standardize_images: expected (n, ...) images");
  auto flat = x.reshape({x.size(0), -1});
  auto centred = centre ? flat - flat.mean(1, true) : flat;
  auto sd = centred.square().mean(1, true).sqrt();
  return torch::where(sd > 1e-8, centred / sd.clamp_min(1e-8), torch::zeros_like(centred)).view(x.sizes());
}

NetworkImpl::NetworkImpl(NetworkOptions o) : options(std::move(o)) {
  RKHS_CHECK(!options.filters.empty(), "CKN: at least one layer (--filters) is needed");
  for (size_t i = 0; i < options.filters.size(); ++i) options.layer(i);  // validates every list up front
  reset();
}

void NetworkImpl::reset() {
  layers_.clear();
  list_ = register_module("layers", torch::nn::ModuleList());
  for (size_t i = 0; i < options.filters.size(); ++i) {
    layers_.push_back(CKNLayer(options.layer(i)));
    list_->push_back(layers_.back());
  }
}

at::Tensor NetworkImpl::forward_to(const at::Tensor& x, size_t count) {
  at::Tensor h = x;
  for (size_t i = 0; i < count && i < layers_.size(); ++i) h = layers_[i]->forward(h);
  return h;
}

at::Tensor NetworkImpl::forward(const at::Tensor& x) { return forward_to(x, layers_.size()); }

at::Tensor NetworkImpl::features(const at::Tensor& x) {
  auto f = forward(x).flatten(1);
  f = f - f.mean(1, true);
  return f / f.norm(2, 1, true).clamp_min(1e-12);
}

int64_t NetworkImpl::feature_dim(int64_t h, int64_t w) const {
  for (const auto& l : layers_) {
    h = l->output_size(h);
    w = l->output_size(w);
  }
  return layers_.back()->options.filters * h * w;
}

at::Tensor NetworkImpl::extract(const at::Tensor& images, int64_t batch_size, bool progress) {
  RKHS_CHECK(batch_size >= 1, "CKN: batch size must be >= 1");
  torch::NoGradGuard no_grad;
  ModeGuard mode(*this, false);
  const int64_t n = images.size(0);
  train::Progress bar("features", n, progress);
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < n; i += batch_size) {
    parts.push_back(features(images.slice(0, i, std::min(n, i + batch_size))));
    bar.update(std::min(n, i + batch_size));
  }
  bar.finish();
  return torch::cat(parts);
}

at::Tensor sample_patches(Network& net, size_t index, const at::Tensor& images, int64_t count, uint64_t seed) {
  RKHS_CHECK(index < net->depth(), "sample_patches: layer index out of range");
  RKHS_CHECK(count >= 1 && images.size(0) > 0, "sample_patches: need images and count >= 1");
  torch::NoGradGuard no_grad;
  ModeGuard mode(*net, false);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = images.size(0);
  const int64_t per_image = (count + n - 1) / n;
  const auto layer = net->layer(index);
  const int64_t h = layer->options.patch, r = h / 2;
  // Offsets of a patch's rows and columns: (1, h, 1) and (1, 1, h).
  const auto offsets = torch::arange(h, torch::TensorOptions().dtype(torch::kLong).device(images.device()));
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < n; i += 256) {
    auto in = net->forward_to(images.slice(0, i, std::min(n, i + 256)), index);  // (B, C, H, W)
    const int64_t b = in.size(0), hgt = in.size(2), wid = in.size(3);
    auto padded = torch::constant_pad_nd(in, {r, r, r, r});
    // Random positions first (4x more than needed, since constant patches are dropped), then only their patches.
    const int64_t m = std::min<int64_t>(4 * per_image * b, b * hgt * wid);
    auto pos = torch::randperm(b * hgt * wid, gen, torch::TensorOptions().dtype(torch::kLong)).slice(0, 0, m).to(in.device());
    auto bi = pos.div(hgt * wid, "floor").view({m, 1, 1});
    auto yi = (pos.div(wid, "floor") % hgt).view({m, 1, 1}) + offsets.view({1, h, 1});
    auto xi = (pos % wid).view({m, 1, 1}) + offsets.view({1, 1, h});
    // Advanced indices around a slice: (m, h, h, C) -> (m, C h h), the layout of the filters.
    auto p = padded.index({bi, torch::indexing::Slice(), yi, xi}).permute({0, 3, 1, 2}).reshape({m, -1});
    auto norms = p.norm(2, 1);
    auto centred = (p - p.mean(1, true)).norm(2, 1);
    auto keep = ((norms > 1e-6) & (centred > 1e-3 * norms)).nonzero().flatten().slice(0, 0, per_image * b);
    if (keep.numel() == 0) continue;
    auto rows = p.index({keep});
    parts.push_back(rows / rows.norm(2, 1, true));
  }
  RKHS_CHECK(!parts.empty(), "sample_patches: every patch of layer " + std::to_string(index + 1) +
                                 " is constant (no contrast in the images?)");
  auto all = torch::cat(parts);
  if (all.size(0) > count)
    all = all.index({torch::randperm(all.size(0), gen, torch::TensorOptions().dtype(torch::kLong))
                         .slice(0, 0, count)
                         .to(all.device())});
  return all;
}

void check(const UnsupervisedOptions& o) {
  RKHS_CHECK(o.patches >= 1 && o.kmeans_iterations >= 1 && o.max_images >= 1,
             "CKN: patches (--patches), k-means iterations (--kmeans-iterations) and images for sampling "
             "(--sample-images) must be >= 1");
}

UnsupervisedReport train_unsupervised(Network& net, const at::Tensor& images, const UnsupervisedOptions& o) {
  check(o);
  const auto start = std::chrono::steady_clock::now();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  auto subset = images;
  if (images.size(0) > o.max_images)
    subset = images.index({torch::randperm(images.size(0), gen, torch::TensorOptions().dtype(torch::kLong))
                               .slice(0, 0, o.max_images)
                               .to(images.device())});
  UnsupervisedReport r;
  for (size_t l = 0; l < net->depth(); ++l) {
    const auto t = std::chrono::steady_clock::now();
    auto layer = net->layer(l);
    auto p = sample_patches(net, l, subset, o.patches, o.seed + 1000 * (l + 1));
    RKHS_CHECK(p.size(0) >= layer->options.filters,
               "CKN layer " + std::to_string(l + 1) + ": only " + std::to_string(p.size(0)) +
                   " non-constant patches for " + std::to_string(layer->options.filters) + " filters");
    auto km = spherical_kmeans(p, layer->options.filters, o.kmeans_iterations, o.seed + 1000 * (l + 1) + 1);
    layer->set_filters(km.centres);
    r.mean_cosine.push_back(km.mean_cosine);
    r.iterations.push_back(km.iterations);
    if (o.progress)
      std::fprintf(stderr, "layer %zu: k-means on %lld patches, %lld filters, %lld iterations, mean cosine %.4f, %.1f s\n",
                   l + 1, (long long)p.size(0), (long long)layer->options.filters, (long long)km.iterations,
                   km.mean_cosine, seconds_since(t));
  }
  r.seconds = seconds_since(start);
  return r;
}

namespace {

// One pass of SGD over the images in a random order with the classifier fixed, filters re-projected onto the sphere
// after every step. Stops early (diverged) when a loss is not finite or the running mean exceeds `limit` after at
// least 5 batches.
struct EpochPass {
  double mean_loss = 0;  // over the images seen
  int64_t batches = 0;
  bool diverged = false;
};

EpochPass sgd_pass(Network& net, torch::optim::Optimizer& opt, const at::Tensor& images, const at::Tensor& labels,
                   const LogisticModel& classifier, const std::string& loss_name, int64_t batch_size, double limit,
                   at::Generator& gen, train::Progress& bar) {
  const int64_t n = images.size(0);
  net->train();
  auto perm = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).to(images.device());
  EpochPass p;
  double loss_sum = 0;
  int64_t seen = 0;
  for (int64_t b = 0; b < n; b += batch_size) {
    auto idx = perm.slice(0, b, std::min(n, b + batch_size));
    opt.zero_grad();
    auto loss = classifier_loss(classifier.logits(net->features(images.index({idx}))), labels.index({idx}), loss_name);
    const double v = loss.item<double>();
    loss_sum += v * double(idx.size(0));
    seen += idx.size(0);
    ++p.batches;
    p.mean_loss = loss_sum / double(seen);
    p.diverged = !std::isfinite(v) || (p.batches >= 5 && p.mean_loss > limit);
    if (p.diverged) break;
    loss.backward();
    opt.step();
    for (size_t l = 0; l < net->depth(); ++l) net->layer(l)->normalize_filters();
    char suffix[48];
    std::snprintf(suffix, sizeof suffix, "loss %.4f", p.mean_loss);
    bar.update(seen, suffix);
  }
  bar.finish();
  return p;
}

// |W|_2, the largest singular value of W (C, D), from the eigenvalues of the small C x C matrix W W^T in double.
double spectral_norm(const at::Tensor& w) {
  const auto w64 = w.detach().to(torch::kDouble);
  return std::sqrt(std::max(0.0, at::linalg_eigvalsh(w64.mm(w64.t())).max().item<double>()));
}

}  // namespace

void check(const SupervisedOptions& o) {
  RKHS_CHECK(o.epochs >= 1 && o.batch_size >= 1,
             "CKN supervised: epochs (--epochs) and batch size (--batch-size) must be >= 1");
  RKHS_CHECK(o.lr > 0 && std::isfinite(o.lr) && o.momentum >= 0 && std::isfinite(o.momentum),
             "CKN supervised: the learning rate (--lr) must be > 0 and the momentum (--momentum) >= 0");
  RKHS_CHECK(o.divergence_factor > 1 && o.max_restarts >= 0,
             "CKN supervised: the divergence factor must be > 1 and the restarts >= 0");
  RKHS_CHECK(o.optimizer == "sgd" || o.optimizer == "adam",
             "CKN supervised: the optimizer (--optimizer) must be sgd or adam, got '" + o.optimizer + "'");
  for (auto m : o.milestones) RKHS_CHECK(m >= 1, "CKN supervised: learning-rate milestones must be >= 1");
  RKHS_CHECK(o.validation_fraction >= 0 && o.validation_fraction < 1,
             "CKN supervised: the hold-out fraction (--validation-fraction) must be in [0, 1)");
}

SupervisedReport train_supervised(Network& net, const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                                  LogisticModel& classifier, const LogisticOptions& logistic,
                                  const SupervisedOptions& o, at::Tensor start_features) {
  check(o);
  RKHS_CHECK(classifier.weight.defined(), "CKN supervised: the classifier must be fitted first");
  RKHS_CHECK(images.size(0) == labels.size(0), "CKN supervised: one label per image expected");
  RKHS_CHECK(!start_features.defined() || start_features.size(0) == images.size(0),
             "CKN supervised: the given features must have one row per image");
  const auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> milestones = o.milestones;
  if (milestones.empty()) milestones = {std::max<int64_t>(1, o.epochs / 2), std::max<int64_t>(1, 3 * o.epochs / 4)};
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  auto make_optimizer = [&]() -> std::unique_ptr<torch::optim::Optimizer> {
    if (o.optimizer == "adam") return std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(o.lr));
    return std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(o.lr).momentum(o.momentum));
  };
  auto opt = make_optimizer();

  // The hold-out split (validation_fraction > 0): the epochs train on `x`, every state is scored on `vx`.
  const bool validate = o.validation_fraction > 0;
  at::Tensor fit_idx, val_idx, x = images, y = labels, vx, vy, start_val;
  if (validate) {
    const int64_t n_all = images.size(0), n_val = std::llround(o.validation_fraction * double(n_all));
    RKHS_CHECK(n_val >= 1 && n_val < n_all, "CKN supervised: the hold-out fraction (--validation-fraction) " +
                                                std::to_string(o.validation_fraction) + " of " +
                                                std::to_string(n_all) + " images leaves no hold-out or no training image");
    auto split_gen = at::make_generator<at::CPUGeneratorImpl>(o.seed + 1);  // the SGD order does not depend on it
    auto perm = torch::randperm(n_all, split_gen, torch::TensorOptions().dtype(torch::kLong)).to(images.device());
    val_idx = perm.slice(0, 0, n_val);
    fit_idx = perm.slice(0, n_val, n_all);
    x = images.index({fit_idx});
    y = labels.index({fit_idx});
    vx = images.index({val_idx});
    vy = labels.index({val_idx});
    if (start_features.defined()) {
      start_val = start_features.index({val_idx});
      start_features = start_features.index({fit_idx});
    }
  }
  const int64_t n = x.size(0);
  // The loss of all-zero scores: what a classifier that knows nothing scores (ln C for the logistic loss).
  const double zero_loss =
      classifier_loss(torch::zeros({1, classes}), torch::zeros({1}, torch::kLong), logistic.loss).item<double>();
  double backoff = 1;  // the divergence guard's factor on the learning rate
  SupervisedReport r;
  r.best_epoch = o.epochs;
  // The best scored state so far (validation only): its filters and classifier.
  double best = -1;
  std::vector<at::Tensor> kept_filters;
  LogisticModel kept_classifier;
  auto score = [&](int64_t state, const at::Tensor& val_features) {
    const double acc = accuracy(classifier.predict(val_features), vy);
    r.validation_accuracy.push_back(acc);
    if (o.progress) std::fprintf(stderr, "after epoch %lld: hold-out accuracy %.4f\n", (long long)state, acc);
    if (acc > best) {  // ties keep the earlier (fewer epochs)
      best = acc;
      r.best_epoch = state;
      kept_filters.clear();
      for (size_t l = 0; l < net->depth(); ++l) kept_filters.push_back(net->layer(l)->filters.detach().clone());
      kept_classifier = classifier;
    }
  };
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    double before;  // the refitted classifier's loss; the features are freed before the SGD steps
    {
      const auto features = start_features.defined() ? std::move(start_features) : net->extract(x);
      classifier = fit_logistic(features, y, classes, classifier.lambda, logistic, &classifier);
      before = classifier_loss(classifier.logits(features), y, logistic.loss).item<double>();
    }
    if (validate) score(epoch - 1, start_val.defined() ? std::move(start_val) : net->extract(vx));
    const double norm = spectral_norm(classifier.weight);  // the scale of the gradients into the filters
    const double limit = std::max(zero_loss, o.divergence_factor * before);
    std::vector<at::Tensor> saved;
    for (size_t l = 0; l < net->depth(); ++l) saved.push_back(net->layer(l)->filters.detach().clone());
    while (true) {  // the epoch, rerun at a 10x smaller rate while it diverges
      double lr = o.lr * backoff;
      for (auto m : milestones)
        if (epoch > m) lr *= 0.1;
      opt->param_groups()[0].options().set_lr(lr);
      train::Progress bar("epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs), n, o.progress);
      const auto pass = sgd_pass(net, *opt, x, y, classifier, logistic.loss, o.batch_size, limit, gen, bar);
      if (!pass.diverged) {
        r.train_loss.push_back(pass.mean_loss);
        r.start_loss.push_back(before);
        r.lr.push_back(lr);
        r.classifier_norm.push_back(norm);
        break;
      }
      char what[320];
      std::snprintf(what, sizeof what,
                    "CKN supervised: the training loss diverged in epoch %lld at lr %g (running mean %.4g after %lld "
                    "batches; before the epoch %.4g)",
                    (long long)epoch, lr, pass.mean_loss, (long long)pass.batches, before);
      if (r.restarts >= o.max_restarts)
        throw Error(std::string(what) + " and " + std::to_string(r.restarts) + " restarts did not help (lower --lr)");
      for (size_t l = 0; l < net->depth(); ++l) net->layer(l)->set_filters(saved[l]);
      opt = make_optimizer();  // no momentum from the diverged steps
      backoff *= 0.1;
      ++r.restarts;
      char rerun[64];
      std::snprintf(rerun, sizeof rerun, ": filters restored, the epoch is rerun with lr %g", lr * 0.1);
      warn(what + std::string(rerun));
    }
  }
  net->eval();
  r.features = net->extract(x);
  classifier = fit_logistic(r.features, y, classes, classifier.lambda, logistic, &classifier);
  if (validate) {
    const auto val_features = net->extract(vx);
    score(o.epochs, val_features);
    if (r.best_epoch < o.epochs) {  // back to the best state; the features of all images under its filters
      for (size_t l = 0; l < net->depth(); ++l) net->layer(l)->set_filters(kept_filters[l]);
      classifier = kept_classifier;
      r.features = net->extract(images);
    } else {  // the rows of both parts back in the images' order
      auto all = torch::empty({images.size(0), r.features.size(1)}, r.features.options());
      all.index_copy_(0, fit_idx, r.features);
      all.index_copy_(0, val_idx, val_features);
      r.features = all;
    }
  }
  r.seconds = seconds_since(start);
  return r;
}

}  // namespace rkhs::ckn
