// The Nystrom map K^{-1/2} of a CKN layer: forward against a matrix with known eigenpairs, backward against
// autograd of a float64 reference, gradcheck, and finite gradients where autograd through eigh fails.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/ckn/inverse_sqrt.h"
#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/gradcheck.h"

using rkhs::ckn::inverse_sqrt;

namespace {

at::Tensor orthogonal(int64_t p, uint64_t seed) {
  torch::manual_seed(seed);
  return std::get<0>(torch::linalg_qr(torch::randn({p, p}, torch::kFloat64)));
}

// The same matrix function through LibTorch's differentiable eigh (valid for distinct eigenvalues).
at::Tensor reference(const at::Tensor& k, double eps) {
  auto [e, v] = rkhs::compat::eigh(k);
  return (v / (e.clamp_min(0).sqrt() + eps).unsqueeze(0)).mm(v.t());
}

}  // namespace

TEST(InverseSqrt, MatchesKnownEigenpairs) {
  const int64_t p = 6;
  auto q = orthogonal(p, 1);
  auto e = torch::tensor({4.0, 2.0, 1.0, 0.25, 1e-3, -0.5}, torch::kFloat64);  // one negative: clamped to 0
  auto k = q.mm(torch::diag(e)).mm(q.t());
  const double eps = 1e-2;
  auto expected = q.mm(torch::diag(1.0 / (e.clamp_min(0).sqrt() + eps))).mm(q.t());
  EXPECT_TRUE(torch::allclose(inverse_sqrt(k, eps), expected, 1e-10, 1e-10));
  // float32 input gives float32 output close to it.
  auto l32 = inverse_sqrt(k.to(torch::kFloat32), eps);
  EXPECT_EQ(l32.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(l32.to(torch::kFloat64), expected, 1e-3, 1e-3));
}

TEST(InverseSqrt, BackwardMatchesAutogradOfReference) {
  const int64_t p = 5;
  auto q = orthogonal(p, 2);
  auto k0 = q.mm(torch::diag(torch::tensor({3.0, 1.7, 0.9, 0.4, 0.1}, torch::kFloat64))).mm(q.t());
  torch::manual_seed(3);
  auto g = torch::randn({p, p}, torch::kFloat64);
  auto k1 = k0.clone().requires_grad_(true);
  (inverse_sqrt(k1, 1e-2) * g).sum().backward();
  auto k2 = k0.clone().requires_grad_(true);
  (reference(k2, 1e-2) * g).sum().backward();
  // eigh's backward uses only one triangle's perturbation implicitly; compare symmetrised gradients.
  auto a = (k1.grad() + k1.grad().t()) / 2, b = (k2.grad() + k2.grad().t()) / 2;
  EXPECT_TRUE(torch::allclose(a, b, 1e-8, 1e-8)) << (a - b).abs().max().item<double>();
}

TEST(InverseSqrt, Gradcheck) {
  torch::manual_seed(4);
  auto b = torch::randn({5, 5}, torch::kFloat64).requires_grad_(true);
  auto f = [](const std::vector<at::Tensor>& in) {
    auto k = in[0].mm(in[0].t()) + 0.1 * torch::eye(5, torch::kFloat64);
    return inverse_sqrt(k, 1e-2);
  };
  auto r = rkhs::gradcheck(f, {b});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(InverseSqrt, RepeatedEigenvaluesGiveTheExactFiniteGradient) {
  // K = c I: every eigenvalue repeated. The derivative of L = f(K) at K = c I is f'(c) dK with
  // f(e) = 1 / (sqrt(e) + eps), f'(c) = -1 / (2 sqrt(c) (sqrt(c) + eps)^2).
  const double c = 0.7, eps = 1e-2;
  auto k = (c * torch::eye(4, torch::kFloat64)).requires_grad_(true);
  torch::manual_seed(5);
  auto g = torch::randn({4, 4}, torch::kFloat64);
  (inverse_sqrt(k, eps) * g).sum().backward();
  ASSERT_TRUE(torch::isfinite(k.grad()).all().item<bool>());
  const double fprime = -1.0 / (2 * std::sqrt(c) * std::pow(std::sqrt(c) + eps, 2));
  EXPECT_TRUE(torch::allclose(k.grad(), fprime * (g + g.t()) / 2, 1e-9, 1e-9));
}

TEST(InverseSqrt, SingularAndIndefiniteMatricesStayFinite) {
  auto ones = torch::ones({4, 4}, torch::kFloat64);  // rank 1, eigenvalues 4, 0, 0, 0
  auto k = (ones - 0.2 * torch::eye(4, torch::kFloat64)).requires_grad_(true);  // eigenvalues 3.8, -0.2 x3
  auto l = inverse_sqrt(k, 1e-2);
  EXPECT_TRUE(torch::isfinite(l).all().item<bool>());
  l.sum().backward();
  EXPECT_TRUE(torch::isfinite(k.grad()).all().item<bool>());
}

TEST(InverseSqrt, RejectsBadInput) {
  EXPECT_THROW(inverse_sqrt(torch::ones({2, 3})), rkhs::Error);
  EXPECT_THROW(inverse_sqrt(torch::full({2, 2}, NAN)), rkhs::Error);
  EXPECT_THROW(inverse_sqrt(torch::eye(2), 0), rkhs::Error);
}
