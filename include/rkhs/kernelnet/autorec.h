#pragma once
// Item-based AutoRec (Sedhain et al. 2015) with dense, kernelNet or sparse-FC layers (paper 004 §3.5, eq. 13):
// each item's vector of user ratings r (0 = missing) goes n_users -> hidden (sigmoid) x layers -> n_users
// (identity). Loss: a sum over observed training ratings, 0.5 * sum mask (R - P)^2 + sum of the layers' penalties,
// minimised by full-batch L-BFGS in outer loops with a fresh optimiser each (the official code's schedule).
// Training touches only the observed entries (forward_observed): the first layer sums the rated users' weight
// columns (sparse_matmul) and the output layer is evaluated at the observed (item, user) pairs only, so a
// loss + gradient costs O(ratings x hidden) there instead of O(items x users x hidden); same loss as the dense form.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rkhs/data/ratings.h"
#include "rkhs/kernelnet/layers.h"
#include "rkhs/kernelnet/sparse_ops.h"

namespace rkhs::kernelnet {

struct AutoRecOptions {
  std::string layer = "sparse";  // dense (I-AutoRec) | kernel (kernelNet) | sparse (sparse FC)
  int64_t layers = 2;            // hidden layers
  int64_t hidden = 500;
  LayerOptions layer_options;    // lambda2, lambda_s, sparsity penalty, d, kernel (in/out are set per layer)
  int64_t outer_loops = 20;
  int64_t lbfgs_iterations = 50;  // per outer loop
  int64_t lbfgs_history = 10;
  uint64_t seed = 0;
  bool progress = true;  // one line per outer loop on stderr
  // With a validation set: after the last loop, restore the parameters of the loop with the lowest validation
  // RMSE (early stopping chosen on validation; the official code reports the last loop).
  bool keep_best = false;
};

// The observed entries of a ratings set as tensors sorted by (item, user): item, user (int64), rating (float).
struct ObservedRatings {
  at::Tensor item, user, rating;
  int64_t num_items = 0, num_users = 0;
  ObservedRatings to(const c10::Device& device) const;  // the same ratings with the tensors on device
};
// Throws rkhs::Error on a (user, item) pair that occurs twice.
ObservedRatings observed_ratings(const data::Ratings& r);

class AutoRecImpl : public torch::nn::Module {
 public:
  AutoRecImpl(int64_t n_users, const AutoRecOptions& o);
  at::Tensor forward(const at::Tensor& r);  // (items, n_users) -> (items, n_users)
  // The same network on the sparse input: the last hidden layer of every item (items, hidden), and the predictions
  // at (item, user) pairs from it. forward_observed(in, i, u)[k] == forward(dense in)[i[k], u[k]].
  at::Tensor encode(const ObservedRatings& input);
  at::Tensor decode_pairs(const at::Tensor& hidden, const at::Tensor& item, const at::Tensor& user);
  at::Tensor forward_observed(const ObservedRatings& input, const at::Tensor& item, const at::Tensor& user);
  at::Tensor penalty() const;
  int64_t parameter_count() const;
  // Expected multiply-accumulates of one prediction (paper Table 4): non-zero weights of every layer, the first
  // one scaled by observed_inputs / n_users (only the rated entries of r multiply).
  double macs(double observed_inputs = 10) const;
  std::vector<Layer> layers;
};
TORCH_MODULE(AutoRec);

struct LoopRecord {
  int64_t loop = 0;
  double lambda2 = 0;  // the L2 weight the loop ran with (it changes along fit_autorec_path)
  double loss = 0, train_rmse = 0, test_rmse = 0, seconds = 0;
  double validation_rmse = -1;  // -1 without a validation set
};

struct AutoRecResult {
  double test_rmse = 0, train_rmse = 0;  // of the returned model: after the last loop, or the best one (keep_best)
  double validation_rmse = -1;           // likewise, when a validation set is given
  int64_t loop = 0;                      // the outer loop whose model is returned
  double train_seconds = 0;
  int64_t parameters = 0;
  double macs = 0;
  int64_t nonzero_weights = 0, weights = 0;  // summed over layers (effective matrices)
  int64_t cold_start_test = 0;  // test ratings whose item has no training rating
  std::vector<LoopRecord> history;
};

// Dense (items, users) rating matrix and 0/1 mask of the given ratings.
std::pair<at::Tensor, at::Tensor> rating_matrix(const data::Ratings& r);

// Predictions are clipped to [min, max] of the training ratings. Throws rkhs::Error when the loss becomes NaN/Inf
// (naming the outer loop), and when o.keep_best is set without a validation set. on_loop, when set, is called after every outer loop. validation, when given (same id
// tables, disjoint from split.train), is scored after every loop for model selection.
AutoRecResult fit_autorec(AutoRec& model, const data::RatingsSplit& split, const AutoRecOptions& o,
                          const std::function<void(const LoopRecord&)>& on_loop = {},
                          const data::Ratings* validation = nullptr);

// A regularisation path with warm starts (issue 26: `rkhs recommend --lambda2 auto`). lambda2 takes the values of
// `lambdas` in order (give them largest first), each for o.outer_loops outer loops that start from the previous
// value's best loop; within and across values the model kept is the (lambda2, loop) with the lowest validation
// RMSE. Weaker regularisation past the optimum only overfits more, so the path stops after the first value whose
// best validation RMSE is not below the best so far. The returned fit's history holds every loop run, numbered
// along the path, with its lambda2; fit.loop is the kept loop's number. Needs validation ratings.
struct PathPoint {
  double lambda2 = 0;
  double validation_rmse = 0;  // the best of this value's loops
  int64_t loops = 0;           // loops run at this value
};
struct PathResult {
  double lambda2 = 0;  // of the kept model
  std::vector<PathPoint> points;
  AutoRecResult fit;
};
PathResult fit_autorec_path(AutoRec& model, const data::RatingsSplit& split, const AutoRecOptions& o,
                            const std::vector<double>& lambdas, const data::Ratings& validation,
                            const std::function<void(const LoopRecord&)>& on_loop = {});

// Test ratings whose item has no training rating (the autoencoder's input row is all zeros for them).
int64_t cold_start_ratings(const data::RatingsSplit& split);

// RMSE of clipped predictions P (items, users) over the ratings r.
double rmse(const at::Tensor& predictions, const data::Ratings& r, float lo, float hi);
// RMSE of clipped predictions p (n,) against targets t (n,).
double rmse(const at::Tensor& p, const at::Tensor& t, float lo, float hi);

}  // namespace rkhs::kernelnet
