#pragma once
// A multi-layer convolutional kernel network (paper 003; Mairal 2016): a stack of CKN layers, its training
// (unsupervised: spherical k-means per layer; supervised: SGD on the filters through the layers) and the
// feature map a linear classifier is fitted on.
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rkhs/ckn/layer.h"
#include "rkhs/linear/logistic.h"

namespace rkhs::ckn {

// The classifier on CKN features is the linear area's (rkhs/linear/logistic.h); its names are usable here too.
using linear::accuracy;
using linear::check;
using linear::classifier_loss;
using linear::fit_logistic;
using linear::fit_logistic_cv;
using linear::LogisticModel;
using linear::LogisticOptions;

struct NetworkOptions {
  int64_t in_channels = 1;
  std::vector<int64_t> filters = {64, 64, 128};
  std::vector<int64_t> patch = {3, 3, 3};        // one value: the same for every layer
  std::vector<int64_t> subsample = {2, 2, 2};    // one value: the same for every layer
  std::vector<double> sigma = {0.6};             // one value: the same for every layer
  std::string kernel = "exp";                    // kappa of every layer ("exp" | "poly2")
  // The layer options of layer i (0-based); throws rkhs::Error for lists of the wrong length.
  LayerOptions layer(size_t i) const;
};

// Per-image standardisation (the CKN input preprocessing): each image minus its mean, divided by its standard
// deviation (constant images become 0). centre = false: only divided by its root mean square, so that a zero
// background stays zero like the zero padding of the first layer.
at::Tensor standardize_images(const at::Tensor& x, bool centre = true);

class NetworkImpl : public torch::nn::Cloneable<NetworkImpl> {
 public:
  explicit NetworkImpl(NetworkOptions options);
  void reset() override;
  // x (B, C, H, W) -> the last layer's map (B, p_L, H_L, W_L).
  at::Tensor forward(const at::Tensor& x);
  // The first `count` layers only.
  at::Tensor forward_to(const at::Tensor& x, size_t count);
  // The classifier's input: the last map flattened, centred and L2-normalised per sample (differentiable).
  at::Tensor features(const at::Tensor& x);
  // features() of a whole set in eval mode, without gradient, in batches: (n, feature_dim). Several processes
  // (docs/DISTRIBUTED.md): each computes its share of the rows and every rank gets them all, or, with root_only,
  // rank 0 alone (an undefined tensor on the others).
  at::Tensor extract(const at::Tensor& images, int64_t batch_size = 256, bool progress = false, bool root_only = false);
  // Length of the feature vector for H x W inputs.
  int64_t feature_dim(int64_t height, int64_t width) const;
  size_t depth() const { return layers_.size(); }
  CKNLayer layer(size_t i) const { return layers_[i]; }

  NetworkOptions options;
 private:
  std::vector<CKNLayer> layers_;
  torch::nn::ModuleList list_;
};
TORCH_MODULE(Network);

// Random unit-norm input patches of layer `index`: images pass through the layers before it (eval mode); patches
// whose centred norm is below 1e-3 of their norm, or whose norm is below 1e-6 ("constant"), are skipped.
// Returns up to `count` rows (fewer only when the images have fewer non-constant patches).
at::Tensor sample_patches(Network& net, size_t index, const at::Tensor& images, int64_t count, uint64_t seed);

struct UnsupervisedOptions {
  int64_t patches = 100000;       // sampled patches per layer
  int64_t kmeans_iterations = 100;
  int64_t max_images = 10000;     // images used for sampling (a random subset of at most this many)
  uint64_t seed = 0;
  bool progress = false;
};

struct UnsupervisedReport {
  std::vector<double> mean_cosine;  // per layer: k-means fit
  std::vector<int64_t> iterations;  // per layer
  double seconds = 0;
};

// Throws rkhs::Error naming the first invalid option; train_unsupervised calls it.
void check(const UnsupervisedOptions& options);

// Sets every layer's filters by spherical k-means on sample_patches, first layer first.
UnsupervisedReport train_unsupervised(Network& net, const at::Tensor& images, const UnsupervisedOptions& options);

struct SupervisedOptions {
  int64_t epochs = 10;
  // SGD. Mairal 2016 uses 0.1, but here the classifier is fitted on standardised features and folded back, so
  // its weights (and the gradients into the filters) are ~sqrt(D) times larger, more so for small lambda: 0.1
  // diverges in the first epoch on 5000 Fashion-MNIST images, 0.01 on all 60000 (docs/CKN.md; the divergence
  // guard below then lowers the rate). SupervisedReport::classifier_norm shows the scale.
  double lr = 0.01;
  double momentum = 0.9;
  // "sgd" (with momentum, Mairal 2016) or "adam" (beta 0.9/0.999; momentum unused): Adam's steps do not scale with
  // the gradient, so one rate suits classifiers of very different norms (small and large training sets).
  std::string optimizer = "sgd";
  int64_t batch_size = 128;
  std::vector<int64_t> milestones;  // lr x 0.1 at these epochs (empty: at 50% and 75% of the epochs)
  // Divergence guard: an epoch whose running mean loss becomes non-finite or exceeds both the loss of all-zero
  // scores (ln C for the logistic loss: worse than knowing nothing) and `divergence_factor` times the refitted
  // classifier's loss before the epoch is stopped, the filters are restored, and the epoch is rerun with the
  // learning rate divided by 10 (kept for the later epochs), at most `max_restarts` times in all (then rkhs::Error).
  double divergence_factor = 2.0;
  int64_t max_restarts = 3;
  // A random fraction of the images (seeded) held out of the epochs and the refits: after every refit (epoch 0 =
  // the start, before any SGD step, through epoch `epochs`) the classifier's accuracy on it is recorded, and the
  // state with the best one (filters and classifier; ties: the earlier) is kept at the end. 0: no hold-out, the
  // last state is kept.
  double validation_fraction = 0;
  uint64_t seed = 0;
  bool progress = false;
};

struct SupervisedReport {
  std::vector<double> train_loss;  // per epoch: mean loss of the SGD steps
  std::vector<double> start_loss;  // per epoch: the refitted classifier's mean loss on the features before it
  std::vector<double> lr;          // per epoch: the learning rate of the kept run of the epoch
  std::vector<double> classifier_norm;  // per epoch: |W|_2 of the classifier refitted before it
  int64_t restarts = 0;            // epochs rerun by the divergence guard
  double seconds = 0;
  std::vector<double> validation_accuracy;  // per state, epochs 0..E (validation_fraction > 0; else empty)
  int64_t best_epoch = 0;          // the kept state: E without a hold-out
  at::Tensor features;             // the features of all the images under the kept filters
};

// Throws rkhs::Error naming the first invalid option; train_supervised calls it, a caller can call it first to fail
// before the unsupervised stage.
void check(const SupervisedOptions& options);

// Mairal 2016's supervised CKN: from the current (k-means) filters, each epoch refits the classifier on the
// features (L-BFGS, warm start; lambda fixed to classifier->lambda), then runs one epoch of SGD with momentum on
// the filters through all layers with the classifier fixed, projecting the filters back onto the unit sphere
// after every step. After the last epoch the classifier is refitted once more. With a hold-out
// (options.validation_fraction) the epochs and refits use the rest of the images and the best scored state is
// kept (its classifier fitted on the rest). `classifier` must be fitted
// (e.g. by fit_logistic_cv on the k-means features); it is updated in place. `features`, when given, are the
// images' features under the current filters (what the classifier was fitted on): the first epoch then does not
// extract them again (they are released before its SGD steps).
SupervisedReport train_supervised(Network& net, const at::Tensor& images, const at::Tensor& labels, int64_t classes,
                                  LogisticModel& classifier, const LogisticOptions& logistic,
                                  const SupervisedOptions& options, at::Tensor features = {});

}  // namespace rkhs::ckn
