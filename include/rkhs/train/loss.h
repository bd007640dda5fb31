#pragma once
// Training objectives: cross-entropy and knowledge distillation (Hinton et al. 2015; paper 000 §6.4).
#include <ATen/core/Tensor.h>

namespace rkhs::train {

// Soft-target loss of student logits s (B, C) against teacher logits t (B, C) at temperature T:
//   T^2 * mean_i sum_c -softmax(t_i / T)_c * log_softmax(s_i / T)_c
// (the cross-entropy between the softened distributions; the T^2 keeps gradient magnitudes comparable to the
// hard loss as T changes). The teacher is detached.
at::Tensor distillation_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits, double temperature);

// The trainer's objective for one mini-batch: mean cross-entropy of logits (B, C) against labels (B,) when
// teacher_logits is undefined, else weight * distillation_loss + (1 - weight) * cross-entropy (the hard term is
// skipped when weight == 1, the soft term when weight == 0).
at::Tensor training_loss(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& teacher_logits,
                         double temperature, double weight);

}  // namespace rkhs::train
