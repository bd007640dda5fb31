#include "rkhs/spectral/nystrom.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "rkhs/compat.h"
#include "rkhs/core/dist.h"
#include "rkhs/error.h"
#include "rkhs/spectral/nngp.h"
#include "rkhs/warn.h"

namespace rkhs::spectral {

NystromEigen nystrom_eigen(const kernels::KernelPtr& kernel, const at::Tensor& x, int64_t k) {
  RKHS_CHECK(kernel, "Nystrom: no kernel");
  RKHS_CHECK(x.dim() == 2 && x.size(0) >= 1, "Nystrom: expected points (N, d)");
  const int64_t n = x.size(0);
  RKHS_CHECK(k >= 1 && k <= n, "Nystrom: need 1 <= k <= N (k = " + std::to_string(k) + ", N = " + std::to_string(n) + ")");
  RKHS_CHECK(n <= (int64_t(1) << 14), "Nystrom: N = " + std::to_string(n) +
                                          " is too large for an exact eigendecomposition here (at most 16384)");
  torch::NoGradGuard g;
  NystromEigen r;
  r.kernel = kernel;
  r.points = x.to(torch::kFloat64);
  auto t0 = std::chrono::steady_clock::now();
  // By row blocks across the processes (docs/DISTRIBUTED.md): each computes its share of the rows of the kernel
  // matrix (or of the Monte Carlo features, the costly part of such a kernel), and every one gathers them all.
  at::Tensor kxx;
  if (const auto* mc = dynamic_cast<const MonteCarloKernel*>(kernel.get())) {
    r.features = mc->features_by_blocks(r.points).to(torch::kFloat64);
    kxx = r.features.mm(r.features.t()) / double(mc->samples());
  } else {
    auto& dist = core::DistWorld::get();
    const auto [begin, end] = core::shard_range(n, dist.rank(), dist.size());
    kxx = dist.all_gather_rows(kernel->gram(r.points.slice(0, begin, end), r.points), "the rows of the kernel matrix");
  }
  RKHS_CHECK(torch::isfinite(kxx).all().item<bool>(), "Nystrom: the kernel matrix has NaN or infinite entries");
  kxx = (kxx + kxx.t()) * 0.5;
  auto t1 = std::chrono::steady_clock::now();
  auto [e, v] = compat::eigh(kxx);
  auto t2 = std::chrono::steady_clock::now();
  r.gram_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.eigh_seconds = std::chrono::duration<double>(t2 - t1).count();
  r.eigenvalues = e.flip(0).slice(0, 0, k) / double(n);
  r.vectors = v.flip(1).slice(1, 0, k).contiguous();
  const auto host = r.eigenvalues.cpu();
  const double top = host[0].item<double>();
  auto ev = host.accessor<double, 1>();
  for (int64_t j = 0; j < k; ++j)
    if (!(ev[j] > 1e-10 * std::abs(top))) ++r.null_pairs;
  if (r.null_pairs > 0)
    warn("Nystrom: " + std::to_string(r.null_pairs) + " of the top " + std::to_string(k) +
         " eigenvalues are numerically zero (the kernel has lower rank); their eigenfunctions are set to 0");
  return r;
}

at::Tensor NystromEigen::operator()(const at::Tensor& x) const {
  RKHS_CHECK(x.dim() == 2 && x.size(1) == points.size(1),
             "Nystrom: expected points with " + std::to_string(points.size(1)) + " features");
  torch::NoGradGuard g;
  const double n = double(points.size(0));
  // Column scale sqrt(N) / lambda_j = 1 / (sqrt(N) mu_j); 0 for numerically zero eigenvalues.
  const double top = std::abs(eigenvalues[0].item<double>());
  auto scale = torch::where(eigenvalues > 1e-10 * top, 1.0 / (std::sqrt(n) * eigenvalues), torch::zeros_like(eigenvalues));
  auto proj = vectors * scale.unsqueeze(0);
  auto xd = x.to(points.device(), torch::kFloat64);
  std::vector<at::Tensor> parts;
  const auto* mc = dynamic_cast<const MonteCarloKernel*>(kernel.get());
  for (int64_t i = 0; i < xd.size(0); i += 4096) {
    auto xb = xd.slice(0, i, std::min(xd.size(0), i + 4096));
    auto kxb = mc && features.defined() ? mc->features(xb).to(torch::kFloat64).mm(features.t()) / double(mc->samples())
                                        : kernel->gram(xb, points);
    parts.push_back(kxb.mm(proj));
  }
  return torch::cat(parts);
}

}  // namespace rkhs::spectral
