#include "rkhs/ckn/baselines.h"

#include <torch/torch.h>

#include "rkhs/ckn/inverse_sqrt.h"
#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"

namespace rkhs::ckn {

NystromFeatures::NystromFeatures(const std::string& spec, at::Tensor landmarks, double eps)
    : spec_(spec), landmarks_(std::move(landmarks)) {
  RKHS_CHECK(landmarks_.dim() == 2 && landmarks_.size(0) > 0, "Nystrom features: landmarks must be (m, d), m >= 1");
  torch::NoGradGuard g;
  auto k = kernels::make_kernel(spec_)->gram(landmarks_, landmarks_);
  map_ = inverse_sqrt(k.to(torch::kFloat64), eps).to(landmarks_.scalar_type());
}

at::Tensor NystromFeatures::operator()(const at::Tensor& x, int64_t batch_size) const {
  RKHS_CHECK(x.dim() == 2 && x.size(1) == landmarks_.size(1),
             "Nystrom features: expected (n, " + std::to_string(landmarks_.size(1)) + ") inputs");
  torch::NoGradGuard g;
  const auto kernel = kernels::make_kernel(spec_);
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += batch_size)
    parts.push_back(kernel->gram(x.slice(0, i, std::min(x.size(0), i + batch_size)), landmarks_).mm(map_));
  return torch::cat(parts);
}

double median_heuristic_gamma(const at::Tensor& x, uint64_t seed) {
  RKHS_CHECK(x.dim() == 2 && x.size(0) >= 2, "median heuristic: need at least two rows");
  torch::NoGradGuard g;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t m = std::min<int64_t>(2000, x.size(0));
  auto rows = x.index({torch::randperm(x.size(0), gen, torch::TensorOptions().dtype(torch::kLong)).slice(0, 0, m).to(x.device())})
                  .to(torch::kFloat64);
  auto sq = rows.square().sum(1);
  auto d = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * rows.mm(rows.t())).clamp_min(0);
  auto iu = torch::triu_indices(m, m, 1, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  const double med = d.index({iu[0], iu[1]}).median().item<double>();
  RKHS_CHECK(med > 0, "median heuristic: all sampled rows are identical");
  return 1.0 / med;
}

}  // namespace rkhs::ckn
