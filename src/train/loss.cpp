#include "rkhs/train/loss.h"

#include <torch/torch.h>

#include "rkhs/error.h"

namespace rkhs::train {

at::Tensor distillation_loss(const at::Tensor& s, const at::Tensor& t, double temperature) {
  RKHS_CHECK(temperature > 0, "distillation temperature must be positive, got " + std::to_string(temperature));
  RKHS_CHECK(s.dim() == 2 && t.sizes() == s.sizes(),
             "distillation: teacher logits must have the student's shape (B, C)");
  auto p_teacher = torch::softmax(t.detach().to(s.scalar_type()) / temperature, 1);
  auto log_q = torch::log_softmax(s / temperature, 1);
  return -(p_teacher * log_q).sum(1).mean() * (temperature * temperature);
}

at::Tensor training_loss(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& teacher_logits,
                         double temperature, double weight) {
  if (!teacher_logits.defined()) return torch::nn::functional::cross_entropy(logits, labels);
  RKHS_CHECK(weight >= 0 && weight <= 1, "distillation weight must be in [0, 1], got " + std::to_string(weight));
  if (weight == 1) return distillation_loss(logits, teacher_logits, temperature);
  auto hard = torch::nn::functional::cross_entropy(logits, labels);
  if (weight == 0) return hard;
  return weight * distillation_loss(logits, teacher_logits, temperature) + (1 - weight) * hard;
}

}  // namespace rkhs::train
