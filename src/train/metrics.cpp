#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "rkhs/error.h"
#include "rkhs/train/trainer.h"

namespace rkhs::train {

// Accuracy, mean NLL, and the expected calibration error (Guo et al. 2017): confidences max softmax split
// into `ece_bins` equal-width bins over (0, 1]; ECE = sum_b (n_b / n) |accuracy_b - mean confidence_b|.
Metrics compute_metrics(const at::Tensor& logits, const at::Tensor& labels, int64_t ece_bins) {
  RKHS_CHECK(logits.dim() == 2, "compute_metrics: logits must be (n, C), got " + std::to_string(logits.dim()) + " dims");
  RKHS_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0), "compute_metrics: labels must be (n,) matching logits");
  RKHS_CHECK(ece_bins > 0, "compute_metrics: ece_bins must be positive");
  Metrics m;
  m.n = logits.size(0);
  if (m.n == 0) return m;
  auto lg = logits.detach().to(torch::kCPU, torch::kFloat64);
  auto y = labels.detach().to(torch::kCPU, torch::kLong);
  auto logp = torch::log_softmax(lg, 1);
  m.nll = torch::nll_loss(logp, y).item<double>();
  auto [conf_log, pred] = logp.max(1);
  auto correct = pred.eq(y).to(torch::kFloat64);
  m.accuracy = correct.mean().item<double>();
  if (!std::isfinite(m.nll) || !torch::isfinite(lg).all().item<bool>()) {
    // Diverged logits (NaN/Inf): no calibration to measure; callers see the NaN NLL and say so.
    m.nll = std::numeric_limits<double>::quiet_NaN();
    m.ece = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  auto conf = conf_log.exp();
  auto bin = (conf * static_cast<double>(ece_bins)).ceil().clamp(1, ece_bins).to(torch::kLong) - 1;
  auto count = torch::zeros({ece_bins}, torch::kFloat64).index_add_(0, bin, torch::ones_like(conf));
  auto acc_sum = torch::zeros({ece_bins}, torch::kFloat64).index_add_(0, bin, correct);
  auto conf_sum = torch::zeros({ece_bins}, torch::kFloat64).index_add_(0, bin, conf);
  m.ece = (acc_sum - conf_sum).abs().sum().item<double>() / static_cast<double>(m.n);
  return m;
}

}  // namespace rkhs::train
