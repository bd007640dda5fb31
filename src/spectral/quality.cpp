#include "rkhs/spectral/quality.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "rkhs/error.h"

namespace rkhs::spectral {

at::Tensor eigenvalue_relative_error(const at::Tensor& est, const at::Tensor& ref) {
  RKHS_CHECK(est.sizes() == ref.sizes() && est.dim() == 1, "eigenvalue error: expected two (k,) vectors");
  auto e = est.to(torch::kFloat64), r = ref.to(torch::kFloat64);
  return (e - r).abs() / r.abs();
}

at::Tensor alignment(const at::Tensor& a, const at::Tensor& b) {
  RKHS_CHECK(a.sizes() == b.sizes() && a.dim() == 2, "alignment: expected two (m, k) matrices of the same shape");
  auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  auto denom = x.norm(2, 0) * y.norm(2, 0);
  return torch::where(denom > 0, (x * y).sum(0).abs() / denom.clamp_min(1e-300), torch::zeros_like(denom));
}

double orthogonality_error(const at::Tensor& psi) {
  RKHS_CHECK(psi.dim() == 2 && psi.size(0) > 0, "orthogonality: expected (m, k)");
  auto p = psi.to(torch::kFloat64);
  return (p.t().mm(p) / double(p.size(0)) - torch::eye(p.size(1), torch::kFloat64)).norm().item<double>();
}

double reconstruction_error(const at::Tensor& kmat, const at::Tensor& psi, const at::Tensor& mu) {
  RKHS_CHECK(kmat.dim() == 2 && kmat.size(0) == kmat.size(1) && psi.dim() == 2 && psi.size(0) == kmat.size(0) &&
                 mu.dim() == 1 && mu.size(0) == psi.size(1),
             "reconstruction error: expected K (m, m), Psi (m, k) and mu (k,)");
  auto k = kmat.to(torch::kFloat64), p = psi.to(torch::kFloat64);
  const double norm = k.norm().item<double>();
  RKHS_CHECK(norm > 0 && std::isfinite(norm), "reconstruction error: the kernel matrix is zero or not finite");
  auto approx = (p * mu.to(torch::kFloat64).unsqueeze(0)).mm(p.t());
  return (k - approx).norm().item<double>() / norm;
}

double best_rank_k_error(const at::Tensor& kmat, int64_t k) {
  RKHS_CHECK(kmat.dim() == 2 && kmat.size(0) == kmat.size(1) && k >= 0, "best rank-k error: expected K (m, m), k >= 0");
  auto km = kmat.to(torch::kFloat64);
  const double norm = km.norm().item<double>();
  RKHS_CHECK(norm > 0 && std::isfinite(norm), "best rank-k error: the kernel matrix is zero or not finite");
  // Descending by magnitude: the best rank-k approximation keeps the k eigenvalues of largest |lambda|.
  auto lam = std::get<0>(at::linalg_eigvalsh((km + km.t()) / 2).abs().sort(0, /*descending=*/true));
  return lam.slice(0, std::min(k, lam.size(0))).square().sum().sqrt().item<double>() / norm;
}

at::Tensor kmeans_labels(const at::Tensor& x, int64_t clusters, uint64_t seed, int64_t restarts, int64_t iterations) {
  RKHS_CHECK(x.dim() == 2 && x.size(0) >= clusters && clusters >= 1, "k-means: need at least as many points as clusters");
  RKHS_CHECK(restarts >= 1 && iterations >= 1, "k-means: restarts and iterations must be >= 1");
  RKHS_CHECK(torch::isfinite(x).all().item<bool>(), "k-means: the points have NaN or infinite entries");
  torch::NoGradGuard g;
  auto xd = x.to(torch::kFloat64);
  const int64_t m = xd.size(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto sq = xd.square().sum(1);
  auto dist = [&](const at::Tensor& c) {  // (m, clusters) squared distances
    return (sq.unsqueeze(1) - 2 * xd.mm(c.t()) + c.square().sum(1).unsqueeze(0)).clamp_min(0);
  };
  at::Tensor best;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < restarts; ++r) {
    // k-means++: each next centre drawn with probability proportional to the squared distance to the nearest one.
    std::vector<at::Tensor> seeds{xd[torch::randint(m, {1}, gen).item<int64_t>()]};
    for (int64_t c = 1; c < clusters; ++c) {
      auto d = std::get<0>(dist(torch::stack(seeds)).min(1));
      const auto i = d.sum().item<double>() > 0 ? torch::multinomial(d, 1, false, gen).item<int64_t>()
                                                : torch::randint(m, {1}, gen).item<int64_t>();
      seeds.push_back(xd[i]);
    }
    auto centres = torch::stack(seeds);
    at::Tensor labels;
    for (int64_t it = 0; it < iterations; ++it) {
      auto next = std::get<1>(dist(centres).min(1));
      if (labels.defined() && next.equal(labels)) break;
      labels = next;
      auto sums = torch::zeros_like(centres).index_add_(0, labels, xd);
      auto counts = torch::bincount(labels, {}, clusters).to(torch::kFloat64);
      auto empty = counts == 0;  // an empty cluster keeps its centre
      centres = torch::where(empty.unsqueeze(1), centres, sums / counts.clamp_min(1).unsqueeze(1));
    }
    const double inertia = std::get<0>(dist(centres).min(1)).sum().item<double>();
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best = labels;
    }
  }
  return best;
}

double cluster_accuracy(const at::Tensor& clusters, const at::Tensor& labels, int64_t classes) {
  RKHS_CHECK(clusters.dim() == 1 && clusters.sizes() == labels.sizes() && clusters.numel() > 0,
             "cluster accuracy: expected two (m,) vectors");
  RKHS_CHECK(classes >= 1 && classes <= 8, "cluster accuracy: 1 to 8 classes (every matching is tried)");
  RKHS_CHECK(clusters.min().item<int64_t>() >= 0 && clusters.max().item<int64_t>() < classes &&
                 labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() < classes,
             "cluster accuracy: clusters and labels must be in [0, classes)");
  auto counts = torch::zeros({classes * classes}, torch::kLong)
                    .index_add_(0, clusters.to(torch::kLong) * classes + labels.to(torch::kLong),
                                torch::ones({clusters.numel()}, torch::kLong))
                    .view({classes, classes});
  auto c = counts.accessor<int64_t, 2>();
  std::vector<int64_t> perm(classes);
  std::iota(perm.begin(), perm.end(), 0);
  int64_t best = 0;
  do {
    int64_t hit = 0;
    for (int64_t k = 0; k < classes; ++k) hit += c[k][perm[k]];
    best = std::max(best, hit);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return double(best) / double(clusters.numel());
}

}  // namespace rkhs::spectral
