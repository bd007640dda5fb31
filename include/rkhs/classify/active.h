#pragma once
// Active-learning subset selection (paper 000, section 6.5 and appendix C): choose `budget` unlabelled points
// to label next from a seed model's outputs. Batch setting: the whole subset is chosen at once, the model is
// not updated in between. Labels are never used.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rkhs::classify {

// method:
//   random  - uniformly random unlabelled points (std::mt19937_64 seeded with `seed`);
//   margin  - the points with the smallest p_(1) - p_(2), the gap between the two largest softmax
//             probabilities of `logits` (Lewis & Gale 1994; Scheffer et al. 2001); ties broken by index;
//   kcenter - k-center greedy (Sener & Savarese 2017) on cosine distances 1 - <e_hat_i, e_hat_j> of
//             `embeddings`: repeatedly add the unlabelled point farthest from the labelled-or-selected set
//             (min-distances updated incrementally, O(n d) per pick). With no labelled point the first pick is
//             random (seeded).
// logits: (n, C), C >= 2 (used by margin); embeddings: (n, d) (used by kcenter); labelled: (n,) bool.
// Tensors not needed by the method may be undefined. Returns (budget,) int64 indices on the CPU, in the order
// chosen, all distinct and unlabelled. Throws rkhs::Error for an unknown method, mismatched shapes, or a budget
// < 0 or larger than the number of unlabelled points.
at::Tensor select_subset(const std::string& method, const at::Tensor& logits, const at::Tensor& embeddings,
                         const at::Tensor& labelled, int64_t budget, uint64_t seed);

// "random", "margin", "kcenter".
std::vector<std::string> selection_methods();

}  // namespace rkhs::classify
