#include "rkhs/ckn/kmeans.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/core/dist.h"
#include "rkhs/error.h"

namespace rkhs::ckn {

namespace {

// The `count` rows of lowest best cosine over every rank, as indices into x: this rank's candidates (its lowest
// `count`, or all its rows) gathered, then the lowest of them. One process: best.topk(count, lowest).
at::Tensor worst_rows(const at::Tensor& best, int64_t begin, int64_t count, core::DistWorld& dist, int64_t iteration) {
  const auto local = best.topk(std::min<int64_t>(count, best.size(0)), 0, /*largest=*/false);
  if (!dist.active()) return std::get<1>(local);
  const std::string what = "the k-means re-seeding of iteration " + std::to_string(iteration);
  const auto values = dist.all_gather_rows(std::get<0>(local).to(torch::kDouble), what);
  const auto rows = dist.all_gather_rows(std::get<1>(local) + begin, what);
  return rows.index({std::get<1>(values.topk(count, 0, /*largest=*/false))});
}

}  // namespace

KMeansResult spherical_kmeans(const at::Tensor& x, int64_t k, int64_t max_iterations, uint64_t seed,
                              double tolerance) {
  RKHS_CHECK(x.dim() == 2 && x.size(0) > 0, "spherical k-means: expected a non-empty (n, d) matrix");
  RKHS_CHECK(k >= 1 && k <= x.size(0), "spherical k-means: need 1 <= k <= n (k = " + std::to_string(k) +
                                           ", n = " + std::to_string(x.size(0)) + ")");
  RKHS_CHECK(torch::isfinite(x).all().item<bool>(), "spherical k-means: the data has NaN or infinite entries");
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0);
  // Several processes (docs/DISTRIBUTED.md): every rank holds x and the centres; each assigns its share of the
  // rows, and the centres' sums, the counts, the objective and the changed assignments are summed over the ranks.
  auto& dist = core::DistWorld::get();
  const auto [begin, end] = core::shard_range(n, dist.rank(), dist.size());
  const auto mine = x.slice(0, begin, end);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  KMeansResult r;
  r.centres = x.index({torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).slice(0, 0, k).to(x.device())})
                  .clone();
  at::Tensor previous, assign;
  for (int64_t it = 1; it <= std::max<int64_t>(1, max_iterations); ++it) {
    r.iterations = it;
    auto [best, a] = mine.mm(r.centres.t()).max(1);
    assign = a;
    auto sums = torch::zeros_like(r.centres).index_add_(0, assign, mine);
    // (counts of the k clusters, sum of the best cosines, assignments changed since the last iteration)
    const auto dbl = torch::TensorOptions().dtype(torch::kDouble).device(x.device());
    const auto changed = previous.defined() ? (previous != assign).sum().to(torch::kDouble)
                                            : torch::full({}, double(assign.size(0)), dbl);
    auto stats = torch::cat({torch::bincount(assign, {}, k).to(torch::kDouble), best.sum().to(torch::kDouble).view(1),
                             changed.view(1)});
    dist.all_reduce_sum({sums, stats}, "the k-means sums of iteration " + std::to_string(it));
    const double objective = dist.active() ? stats[k].item<double>() / double(n) : best.mean().item<double>();
    const bool settled = it > 1 && std::abs(objective - r.mean_cosine) <= tolerance * std::abs(objective);
    r.mean_cosine = objective;
    if (settled || (previous.defined() && stats[k + 1].item<double>() == 0)) break;
    previous = assign;
    const auto counts = stats.slice(0, 0, k);
    auto empty = (counts == 0).nonzero().flatten();
    auto norms = sums.norm(2, 1, true);
    r.centres = torch::where(norms > 1e-12, sums / norms.clamp_min(1e-12), r.centres);  // a cancelling cluster keeps its centre
    if (empty.numel() > 0) {
      // The worst-fitting rows, one per empty cluster.
      r.centres.index_put_({empty}, x.index({worst_rows(best, begin, empty.numel(), dist, it)}));
      r.reseeded += empty.numel();
      previous = at::Tensor();  // the assignment will change
    }
  }
  r.assignment = dist.all_gather_rows(assign, "the k-means assignment");
  return r;
}

}  // namespace rkhs::ckn
