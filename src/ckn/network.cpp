#include "rkhs/ckn/network.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "rkhs/ckn/kmeans.h"
#include "rkhs/core/dist.h"
#include "rkhs/error.h"
#include "rkhs/core/device.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/loss_meter.h"
#include "rkhs/core/progress.h"
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

at::Tensor NetworkImpl::extract(const at::Tensor& images, int64_t batch_size, bool progress, bool root_only) {
  RKHS_CHECK(batch_size >= 1, "CKN: batch size must be >= 1");
  RKHS_CHECK(images.dim() == 4 && images.size(0) > 0, "CKN: features need a non-empty (n, C, H, W) batch of images");
  torch::NoGradGuard no_grad;
  ModeGuard mode(*this, false);
  // Several processes (docs/DISTRIBUTED.md): each rank computes its share of the rows.
  auto& dist = core::DistWorld::get();
  const auto [begin, end] = core::shard_range(images.size(0), dist.rank(), dist.size());
  core::Progress bar("features", end - begin, progress);
  std::vector<at::Tensor> parts;
  for (int64_t i = begin; i < end; i += batch_size) {
    parts.push_back(features(images.slice(0, i, std::min(end, i + batch_size))));
    bar.update(std::min(end, i + batch_size) - begin);
  }
  bar.finish();
  // A rank whose share is empty: the features of the first image without its row (the row shape).
  if (parts.empty()) parts.push_back(features(images.slice(0, 0, 1)).slice(0, 0, 0));
  return root_only ? dist.gather_rows_to_root(torch::cat(parts), "the CKN features")
                   : dist.all_gather_rows(torch::cat(parts), "the CKN features");
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
  // The size of the layer's input maps, for the random positions of the chunks this rank does not compute.
  int64_t hgt = images.size(2), wid = images.size(3);
  for (size_t l = 0; l < index; ++l) {
    hgt = net->layer(l)->output_size(hgt);
    wid = net->layer(l)->output_size(wid);
  }
  // Several processes (docs/DISTRIBUTED.md): each rank computes its share of the chunks of 256 images; every rank
  // draws the positions of every chunk, so that the generator, the patches and their final subset are the ones of
  // one process.
  auto& dist = core::DistWorld::get();
  const int64_t chunks = (n + 255) / 256;
  const auto [first, last] = core::shard_range(chunks, dist.rank(), dist.size());
  // Offsets of a patch's rows and columns: (1, h, 1) and (1, 1, h).
  const auto offsets = torch::arange(h, torch::TensorOptions().dtype(torch::kLong).device(images.device()));
  std::vector<at::Tensor> parts{images.new_empty({0, layer->options.in_channels * h * h})};
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = 256 * c, b = std::min(n, i + 256) - i;
    // Random positions first (4x more than needed, since constant patches are dropped), then only their patches.
    const int64_t m = std::min<int64_t>(4 * per_image * b, b * hgt * wid);
    auto pos = torch::randperm(b * hgt * wid, gen, torch::TensorOptions().dtype(torch::kLong)).slice(0, 0, m);
    if (c < first || c >= last) continue;
    auto in = net->forward_to(images.slice(0, i, i + b), index);  // (B, C, H, W)
    auto padded = torch::constant_pad_nd(in, {r, r, r, r});
    pos = pos.to(in.device());
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
  auto all = dist.all_gather_rows(torch::cat(parts), "the patches of layer " + std::to_string(index + 1));
  RKHS_CHECK(all.size(0) > 0, "sample_patches: every patch of layer " + std::to_string(index + 1) +
                                  " is constant (no contrast in the images?)");
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

namespace {

// One call of train_supervised: the hold-out split, the hooks that the training kit's loop calls, the scoring
// of every state on the hold-out and the report. Each epoch refits the classifier on the current features, then
// runs SGD over the images in a random order with the classifier fixed, the filters re-projected onto the sphere
// after every step.
class SupervisedRun {
 public:
  SupervisedRun(Network& net, const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                LogisticModel& classifier, const LogisticOptions& logistic, const SupervisedOptions& o,
                at::Tensor start_features)
      : net_(net), images_(images), classes_(classes), classifier_(classifier), logistic_(logistic), o_(o),
        gen_(at::make_generator<at::CPUGeneratorImpl>(o.seed)), x_(images), y_(labels),
        start_features_(std::move(start_features)) {
    if (o.validation_fraction > 0) split(labels);
    n_ = x_.size(0);
    opt_ = make_optimizer();
    r_.best_epoch = o.epochs;
  }

  SupervisedReport run() {
    const core::Stopwatch clock;
    if (dist_.active()) {  // every rank from rank 0's filters and classifier
      auto f = filters();
      dist_.broadcast(f, 0, "the initial filters");
      set_filters(f);
      share_classifier();
      overlapped_ = dist_.overlapped_gradients(net_->parameters());
    }
    r_.restarts = core::run_loop(loop_options(), hooks()).restarts;
    finish();
    r_.seconds = clock.seconds();
    return std::move(r_);
  }

 private:
  std::unique_ptr<torch::optim::Optimizer> make_optimizer() {
    if (o_.optimizer == "adam") return std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(o_.lr));
    return std::make_unique<torch::optim::SGD>(net_->parameters(), torch::optim::SGDOptions(o_.lr).momentum(o_.momentum));
  }

  // The hold-out split (validation_fraction > 0): the epochs train on x_, every state is scored on vx_.
  void split(const at::Tensor& labels) {
    validate_ = true;
    const int64_t n_all = images_.size(0), n_val = std::llround(o_.validation_fraction * double(n_all));
    RKHS_CHECK(n_val >= 1 && n_val < n_all, "CKN supervised: the hold-out fraction (--validation-fraction) " +
                                                std::to_string(o_.validation_fraction) + " of " +
                                                std::to_string(n_all) + " images leaves no hold-out or no training image");
    auto split_gen = at::make_generator<at::CPUGeneratorImpl>(o_.seed + 1);  // the SGD order does not depend on it
    auto perm = torch::randperm(n_all, split_gen, torch::TensorOptions().dtype(torch::kLong)).to(images_.device());
    val_idx_ = perm.slice(0, 0, n_val);
    fit_idx_ = perm.slice(0, n_val, n_all);
    x_ = images_.index({fit_idx_});
    y_ = labels.index({fit_idx_});
    vx_ = images_.index({val_idx_});
    vy_ = labels.index({val_idx_});
    if (start_features_.defined()) {
      start_val_ = start_features_.index({val_idx_});
      start_features_ = start_features_.index({fit_idx_});
    }
  }

  core::LoopOptions loop_options() const {
    core::LoopOptions lo;
    lo.who = "CKN supervised";
    lo.epochs = o_.epochs;
    lo.epoch_label = true;
    lo.steps = (n_ + o_.batch_size - 1) / o_.batch_size;
    lo.progress_total = n_;
    lo.progress = o_.progress;
    core::Schedule schedule;  // o.lr, divided by 10 after each milestone epoch
    schedule.kind = core::ScheduleKind::multistep;
    schedule.lr = o_.lr;
    schedule.epochs = o_.epochs;
    schedule.steps_per_epoch = lo.steps;
    schedule.milestones = o_.milestones;
    if (schedule.milestones.empty())
      schedule.milestones = {std::max<int64_t>(1, o_.epochs / 2), std::max<int64_t>(1, 3 * o_.epochs / 4)};
    lo.schedule = schedule;
    lo.max_restarts = o_.max_restarts;
    lo.report_every = core::report_interval(x_.device());
    lo.backoff = 0.1;
    lo.divergence_factor = o_.divergence_factor;
    // The loss of all-zero scores: what a classifier that knows nothing scores (ln C for the logistic loss).
    lo.divergence_floor =
        classifier_loss(torch::zeros({1, classes_}), torch::zeros({1}, torch::kLong), logistic_.loss).item<double>();
    lo.hint = "lower the learning rate";
    return lo;
  }

  core::LoopHooks hooks() {
    core::LoopHooks h;
    h.set_lr = [this](double lr) { opt_->param_groups()[0].options().set_lr(lr); };
    h.begin_epoch = [this](int64_t epoch) { return begin_epoch(epoch); };
    h.save = [this] { saved_ = filters(); };
    h.restore = [this] {
      set_filters(saved_);
      opt_ = make_optimizer();  // no momentum from the diverged steps
    };
    h.begin_pass = [this](int64_t) {
      net_->train();
      meter_.clear();
      perm_ = torch::randperm(n_, gen_, torch::TensorOptions().dtype(torch::kLong)).to(x_.device());
    };
    h.step = [this](const core::Step& s) {
      auto idx = perm_.slice(0, s.index * o_.batch_size, std::min(n_, (s.index + 1) * o_.batch_size));
      opt_->zero_grad();
      const int64_t global = idx.size(0);
      idx = dist_.share_of(idx);  // several processes: this rank's share (rkhs/core/dist.h)
      pending_ = idx.size(0) == 0 ? core::zero_through(net_->parameters(), x_.options())
                                  : classifier_loss(classifier_.logits(net_->features(x_.index({idx}))), y_.index({idx}),
                                                    logistic_.loss) * (double(idx.size(0)) / double(global));
      meter_.add(dist_.sum_over_ranks(pending_, "the loss of batch " + std::to_string(s.index + 1)), double(global));
      core::StepLoss l = meter_.finish(s);
      l.progress = global;
      return l;
    };
    h.update = [this](const core::Step& s) {
      dist_.backward_and_sum(overlapped_.get(), [this] { if (pending_.requires_grad()) pending_.backward(); },
                             net_->parameters(), "the filter gradients of batch " + std::to_string(s.index + 1));
      opt_->step();
      for (size_t l = 0; l < net_->depth(); ++l) net_->layer(l)->normalize_filters();
    };
    h.end_epoch = [this](core::EpochSummary& s) {
      r_.train_loss.push_back(s.mean_loss);
      r_.start_loss.push_back(before_);
      r_.lr.push_back(s.lr);
      r_.classifier_norm.push_back(norm_);
      return false;
    };
    return h;
  }

  // The classifier refitted on the current features (freed before the SGD steps), the state scored on the
  // hold-out; returns the refitted classifier's loss (the guard's reference).
  double begin_epoch(int64_t epoch) {
    {
      const auto features = start_features_.defined() ? std::move(start_features_) : net_->extract(x_);
      classifier_ = fit_logistic(features, y_, classes_, classifier_.lambda, logistic_, &classifier_);
      share_classifier();
      before_ = classifier_loss(classifier_.logits(features), y_, logistic_.loss).item<double>();
    }
    if (validate_) score(epoch - 1, start_val_.defined() ? std::move(start_val_) : net_->extract(vx_));
    norm_ = spectral_norm(classifier_.weight);  // the scale of the gradients into the filters
    return before_;
  }

  // The hold-out accuracy of the state after `state` epochs; the best one's filters and classifier are kept
  // (ties keep the earlier, fewer epochs).
  void score(int64_t state, const at::Tensor& val_features) {
    const double acc = accuracy(classifier_.predict(val_features), vy_);
    r_.validation_accuracy.push_back(acc);
    if (o_.progress) std::fprintf(stderr, "after epoch %lld: hold-out accuracy %.4f\n", (long long)state, acc);
    if (best_.offer(state, core::Score{acc}, [this] { return std::make_pair(filters(), classifier_); }))
      r_.best_epoch = state;
  }

  // The final refit and score; back to the best state when an earlier one scored better on the hold-out.
  void finish() {
    net_->eval();
    r_.features = net_->extract(x_);
    classifier_ = fit_logistic(r_.features, y_, classes_, classifier_.lambda, logistic_, &classifier_);
    share_classifier();
    if (!validate_) return;
    const auto val_features = net_->extract(vx_);
    score(o_.epochs, val_features);
    if (r_.best_epoch < o_.epochs) {  // the features of all images under the kept filters
      set_filters(best_.state().first);
      classifier_ = best_.state().second;
      r_.features = net_->extract(images_);
    } else {  // the rows of both parts back in the images' order
      auto all = torch::empty({images_.size(0), r_.features.size(1)}, r_.features.options());
      all.index_copy_(0, fit_idx_, r_.features);
      all.index_copy_(0, val_idx_, val_features);
      r_.features = all;
    }
  }

  // Several processes: every rank fits the classifier on the same gathered features; rank 0's fit is taken by all,
  // so that every rank scores, keeps and stops alike even where the fits differ in their last bits.
  void share_classifier() {
    if (!dist_.active()) return;
    auto lambda = torch::tensor({classifier_.lambda}, torch::kDouble);
    dist_.broadcast({classifier_.weight, classifier_.bias, lambda}, 0, "the refitted classifier");
    classifier_.lambda = lambda.item<double>();
  }

  std::vector<at::Tensor> filters() const {
    std::vector<at::Tensor> f;
    for (size_t l = 0; l < net_->depth(); ++l) f.push_back(net_->layer(l)->filters.detach().clone());
    return f;
  }
  void set_filters(const std::vector<at::Tensor>& f) {
    for (size_t l = 0; l < net_->depth(); ++l) net_->layer(l)->set_filters(f[l]);
  }

  core::DistWorld& dist_ = core::DistWorld::get();
  std::unique_ptr<core::OverlappedGradients> overlapped_;  // several processes, unless --no-dist-overlap
  Network& net_;
  const at::Tensor& images_;
  const int64_t classes_;
  LogisticModel& classifier_;
  const LogisticOptions& logistic_;
  const SupervisedOptions& o_;
  at::Generator gen_;
  bool validate_ = false;
  at::Tensor x_, y_, vx_, vy_, fit_idx_, val_idx_, start_features_, start_val_;
  int64_t n_ = 0;
  std::unique_ptr<torch::optim::Optimizer> opt_;
  double before_ = 0, norm_ = 0;  // the refitted classifier's loss and |W|_2
  std::vector<at::Tensor> saved_;  // the filters at the start of the epoch (the guard's undo)
  at::Tensor perm_, pending_;
  core::LossMeter meter_;  // losses not yet read (every step on the CPU)
  core::BestKeeper<std::pair<std::vector<at::Tensor>, LogisticModel>> best_;  // hold-out only
  SupervisedReport r_;
};

}  // namespace

SupervisedReport train_supervised(Network& net, const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                                  LogisticModel& classifier, const LogisticOptions& logistic,
                                  const SupervisedOptions& o, at::Tensor start_features) {
  check(o);
  RKHS_CHECK(classifier.weight.defined(), "CKN supervised: the classifier must be fitted first");
  RKHS_CHECK(images.size(0) == labels.size(0), "CKN supervised: one label per image expected");
  RKHS_CHECK(!start_features.defined() || start_features.size(0) == images.size(0),
             "CKN supervised: the given features must have one row per image");
  return SupervisedRun(net, images, labels, classes, classifier, logistic, o, std::move(start_features)).run();
}

}  // namespace rkhs::ckn
