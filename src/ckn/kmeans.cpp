#include "rkhs/ckn/kmeans.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::ckn {

KMeansResult spherical_kmeans(const at::Tensor& x, int64_t k, int64_t max_iterations, uint64_t seed,
                              double tolerance) {
  RKHS_CHECK(x.dim() == 2 && x.size(0) > 0, "spherical k-means: expected a non-empty (n, d) matrix");
  RKHS_CHECK(k >= 1 && k <= x.size(0), "spherical k-means: need 1 <= k <= n (k = " + std::to_string(k) +
                                           ", n = " + std::to_string(x.size(0)) + ")");
  RKHS_CHECK(torch::isfinite(x).all().item<bool>(), "spherical k-means: the data has NaN or infinite entries");
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  KMeansResult r;
  r.centres = x.index({torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).slice(0, 0, k).to(x.device())})
                  .clone();
  at::Tensor previous;
  for (int64_t it = 1; it <= std::max<int64_t>(1, max_iterations); ++it) {
    r.iterations = it;
    auto [best, assign] = x.mm(r.centres.t()).max(1);
    r.assignment = assign;
    const double objective = best.mean().item<double>();
    const bool settled = it > 1 && std::abs(objective - r.mean_cosine) <= tolerance * std::abs(objective);
    r.mean_cosine = objective;
    if (settled || (previous.defined() && previous.equal(assign))) break;
    previous = assign;
    auto sums = torch::zeros_like(r.centres).index_add_(0, assign, x);
    auto counts = torch::bincount(assign, {}, k);
    auto empty = (counts == 0).nonzero().flatten();
    auto norms = sums.norm(2, 1, true);
    r.centres = torch::where(norms > 1e-12, sums / norms.clamp_min(1e-12), r.centres);  // a cancelling cluster keeps its centre
    if (empty.numel() > 0) {
      // The worst-fitting rows, one per empty cluster.
      auto worst = std::get<1>(best.topk(empty.numel(), 0, /*largest=*/false));
      r.centres.index_put_({empty}, x.index({worst}));
      r.reseeded += empty.numel();
      previous = at::Tensor();  // the assignment will change
    }
  }
  return r;
}

}  // namespace rkhs::ckn
