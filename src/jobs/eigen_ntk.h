#pragma once
// rkhs eigen --kernel ntk (internal to the eigen job): the binary classifier whose empirical NTK is decomposed
// (paper 002 §4.2.2, on two Fashion-MNIST classes instead of CIFAR-10's airplane and automobile).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "rkhs/jobs/eigen_job.h"
#include "rkhs/spectral/ntk.h"

namespace rkhs::jobs {

using FeatureMap = std::function<at::Tensor(const at::Tensor&)>;

// f applied to the rows of x in blocks of 4096 (bounded memory), concatenated.
at::Tensor in_blocks(const at::Tensor& x, const FeatureMap& f);

struct NTKClassifier {
  std::shared_ptr<spectral::NTKKernel> kernel;  // of the trained network's logit, float64 parameters
  std::function<at::Tensor(const at::Tensor&)> logits;      // (m, 784) -> (m,) float64, no gradient
  std::function<at::Tensor(const at::Tensor&)> last_layer;  // (m, 784) -> (m, 85): the head's inputs and 1
  double weight_decay = 1e-4;
  double test_accuracy = 0;
  double train_seconds = 0;
  int64_t parameters = 0;
};

// Trains LeNet-5 (no BatchNorm, so nothing to fold) with a one-logit head by Adam (lr 1e-3, batch 128, `epochs`
// passes, logistic loss, L2 weight decay 1e-4: a MAP estimate under the prior N(0, 1 / (n * 1e-4))) on x (n, 784) in [-1, 1] with labels y in {0, 1}, measures its test accuracy, and returns
// the NTK of its logit (parameters converted to float64 for the finite differences).
NTKClassifier train_ntk_classifier(const at::Tensor& x, const at::Tensor& y, const at::Tensor& test_x,
                                   const at::Tensor& test_y, int64_t epochs, const spectral::NTKOptions& options,
                                   uint64_t seed, bool progress);

// §4.3 for the classifier: "map" (no variance), "last-layer" (exact Laplace of the head) and "neuralef" (eq. 22
// with eigen_features(x) = [sqrt(mu_j) psi_j(x)] of the unnormalised NTK), each fitted on train_x and scored on
// the pair's test images (test_x, test_y) and out of distribution on ood_x; sets *prior_variance.
std::vector<LaplaceResult> compare_laplace(const NTKClassifier& classifier, const FeatureMap& eigen_features,
                                           const at::Tensor& train_x, const at::Tensor& test_x,
                                           const at::Tensor& test_y, const at::Tensor& ood_x, uint64_t seed,
                                           double* prior_variance);

}  // namespace rkhs::jobs
