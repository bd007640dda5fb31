#include "rkhs/classify/active.h"

#include <torch/torch.h>

#include <random>

#include "rkhs/classify/heads.h"
#include "rkhs/error.h"

namespace rkhs::classify {

std::vector<std::string> selection_methods() { return {"random", "margin", "kcenter"}; }

namespace {

// Cosine distances 1 - <x_hat_i, y_hat_j>, minimised over j, computed in blocks of rows of y: (n,).
torch::Tensor min_cosine_distance(const torch::Tensor& x_hat, const torch::Tensor& y_hat) {
  constexpr int64_t kBlock = 2048;
  auto best = torch::full({x_hat.size(0)}, std::numeric_limits<double>::infinity(), x_hat.options());
  for (int64_t s = 0; s < y_hat.size(0); s += kBlock) {
    auto block = y_hat.slice(0, s, std::min(s + kBlock, y_hat.size(0)));
    best = torch::minimum(best, 1.0 - std::get<0>(torch::matmul(x_hat, block.t()).max(1)));
  }
  return best;
}

}  // namespace

at::Tensor select_subset(const std::string& method, const at::Tensor& logits, const at::Tensor& embeddings,
                         const at::Tensor& labelled, int64_t budget, uint64_t seed) {
  torch::NoGradGuard no_grad;
  RKHS_CHECK(labelled.defined() && labelled.dim() == 1 && labelled.scalar_type() == torch::kBool,
             "select_subset: labelled must be a (n,) bool tensor");
  const int64_t n = labelled.size(0);
  const auto lab = labelled.to(torch::kCPU);
  const auto unlabelled_idx = torch::nonzero(lab.logical_not()).flatten();  // (u,) int64, ascending
  const int64_t u = unlabelled_idx.size(0);
  RKHS_CHECK(budget >= 0 && budget <= u, "select_subset: budget " + std::to_string(budget) + " not in [0, " +
                                             std::to_string(u) + "] (the number of unlabelled points)");
  std::mt19937_64 rng(seed);

  if (method == "random") {
    // Partial Fisher-Yates shuffle of the unlabelled indices (portable: uses the engine's raw output only).
    std::vector<int64_t> pool(unlabelled_idx.data_ptr<int64_t>(), unlabelled_idx.data_ptr<int64_t>() + u);
    for (int64_t i = 0; i < budget; ++i) {
      const auto j = i + static_cast<int64_t>(rng() % static_cast<uint64_t>(u - i));
      std::swap(pool[i], pool[j]);
    }
    pool.resize(budget);
    return torch::tensor(pool, torch::kLong);
  }

  if (method == "margin") {
    RKHS_CHECK(logits.defined() && logits.dim() == 2 && logits.size(0) == n && logits.size(1) >= 2,
               "select_subset(margin): logits must be (n, C) with n = " + std::to_string(n) + " and C >= 2");
    RKHS_CHECK(torch::isfinite(logits).all().item<bool>(), "select_subset(margin): logits contain NaN or Inf");
    // p1 - p2 is monotone in the log-probability gap log p1 - log p2 = l1 - l2, which does not saturate to
    // exactly 1 for confident models (p1 - p2 would, making the ranking fall back to index order).
    const auto top2 = std::get<0>(logits.to(torch::kCPU, torch::kDouble).topk(2, 1));
    const auto margin = (top2.select(1, 0) - top2.select(1, 1)).index_select(0, unlabelled_idx);
    // Stable sort so that equal margins keep index order.
    const auto order = std::get<1>(margin.sort(/*stable=*/true, 0, /*descending=*/false));
    return unlabelled_idx.index_select(0, order.slice(0, 0, budget)).clone();
  }

  if (method == "kcenter") {
    RKHS_CHECK(embeddings.defined() && embeddings.dim() == 2 && embeddings.size(0) == n,
               "select_subset(kcenter): embeddings must be (n, d) with n = " + std::to_string(n));
    RKHS_CHECK(torch::isfinite(embeddings).all().item<bool>(), "select_subset(kcenter): embeddings contain NaN or Inf");
    const auto e = l2_normalize_rows(embeddings.to(torch::kCPU, torch::kDouble));
    const auto lab_idx = torch::nonzero(lab).flatten();
    torch::Tensor dist;  // (n,) distance to the nearest labelled-or-selected point
    std::vector<int64_t> chosen;
    chosen.reserve(budget);
    if (lab_idx.size(0) > 0) {
      dist = min_cosine_distance(e, e.index_select(0, lab_idx));
    } else if (budget > 0) {
      const int64_t first = unlabelled_idx[static_cast<int64_t>(rng() % static_cast<uint64_t>(u))].item<int64_t>();
      chosen.push_back(first);
      dist = 1.0 - torch::matmul(e, e[first]);
    }
    // Labelled and chosen points must never be picked again: their distance is -inf.
    const double neg_inf = -std::numeric_limits<double>::infinity();
    if (dist.defined()) {
      dist.masked_fill_(lab, neg_inf);
      for (auto c : chosen) dist[c] = neg_inf;
    }
    while (static_cast<int64_t>(chosen.size()) < budget) {
      const int64_t next = dist.argmax().item<int64_t>();  // first index among ties
      chosen.push_back(next);
      dist = torch::minimum(dist, 1.0 - torch::matmul(e, e[next]));
      dist[next] = neg_inf;
    }
    return torch::tensor(chosen, torch::kLong);
  }

  throw Error("select_subset: unknown method '" + method + "' (expected random, margin or kcenter)");
}

}  // namespace rkhs::classify
