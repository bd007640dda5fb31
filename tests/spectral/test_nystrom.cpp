// The Nystrom reference on a kernel with known eigenpairs (the linear kernel: the SVD of the data), and the
// quality measures.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/nystrom.h"
#include "rkhs/spectral/quality.h"
#include "warning_capture.h"

using namespace rkhs::spectral;

TEST(Nystrom, LinearKernelMatchesTheSvd) {
  // K = X X^T: eigenvalues s_j^2 (singular values of X), so mu_j = s_j^2 / N, and the eigenfunctions are
  // psi_j(x) = sqrt(N) x^T v_j / s_j (unit mean square on X).
  torch::manual_seed(1);
  const int64_t n = 200;
  auto x = torch::randn({n, 3}, torch::kFloat64) * torch::tensor({3.0, 1.5, 0.5}, torch::kFloat64);
  auto [u, s, vh] = at::linalg_svd(x, false);
  auto nys = nystrom_eigen(rkhs::kernels::make_kernel("linear"), x, 3);
  EXPECT_TRUE(torch::allclose(nys.eigenvalues, s.square() / double(n), 1e-9, 1e-12));
  auto fresh = torch::randn({50, 3}, torch::kFloat64);
  auto expected = fresh.mm(vh.t()) * (std::sqrt(double(n)) / s).unsqueeze(0);
  auto got = nys(fresh);
  EXPECT_TRUE(torch::allclose(alignment(got, expected), torch::ones({3}, torch::kFloat64), 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(got.abs(), expected.abs(), 1e-8, 1e-8));
  // On the sample itself: sqrt(N) u_j, orthonormal with unit mean square.
  EXPECT_LT(orthogonality_error(nys(x)), 1e-9);
  EXPECT_EQ(nys.null_pairs, 0);
}

TEST(Nystrom, RankDeficientKernelWarnsAndZeroesTheNullPairs) {
  torch::manual_seed(2);
  auto x = torch::randn({30, 2}, torch::kFloat64);
  rkhs::testing::WarningCapture capture;
  auto nys = nystrom_eigen(rkhs::kernels::make_kernel("linear"), x, 4);  // rank 2
  const std::string warning = capture.messages.empty() ? "" : capture.messages.back();
  EXPECT_EQ(nys.null_pairs, 2);
  EXPECT_NE(warning.find("numerically zero"), std::string::npos);
  auto psi = nys(torch::randn({5, 2}, torch::kFloat64));
  EXPECT_TRUE(torch::isfinite(psi).all().item<bool>());
  EXPECT_TRUE(psi.slice(1, 2).eq(0).all().item<bool>());
}

TEST(Nystrom, RejectsBadArguments) {
  auto x = torch::randn({10, 2}, torch::kFloat64);
  auto k = rkhs::kernels::make_kernel("rbf");
  EXPECT_THROW(nystrom_eigen(k, x, 0), rkhs::Error);
  EXPECT_THROW(nystrom_eigen(k, x, 11), rkhs::Error);
  auto nys = nystrom_eigen(k, x, 2);
  EXPECT_THROW(nys(torch::randn({3, 5}, torch::kFloat64)), rkhs::Error);
}

TEST(SpectralQuality, Measures) {
  auto e = eigenvalue_relative_error(torch::tensor({1.1, 0.5}), torch::tensor({1.0, 1.0}));
  EXPECT_NEAR(e[0].item<double>(), 0.1, 1e-6);
  EXPECT_NEAR(e[1].item<double>(), 0.5, 1e-6);
  auto a = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}});
  auto b = torch::tensor({{-2.0, 0.0}, {0.0, 0.0}, {-2.0, 0.0}});
  auto al = alignment(a, b);  // sign-free; a zero column aligns 0
  EXPECT_NEAR(al[0].item<double>(), 1.0, 1e-12);
  EXPECT_EQ(al[1].item<double>(), 0.0);
  auto q = torch::tensor({{1.0, 1.0}, {1.0, -1.0}});
  EXPECT_NEAR(orthogonality_error(q), 0.0, 1e-12);
}

TEST(SpectralQuality, ReconstructionErrorAndItsEckartYoungBound) {
  // By hand: K = diag(3, 2, 1), rank 1: sqrt(2^2 + 1^2) / sqrt(14).
  auto d = torch::diag(torch::tensor({3.0, 2.0, 1.0}, torch::kFloat64));
  EXPECT_NEAR(best_rank_k_error(d, 1), std::sqrt(5.0 / 14.0), 1e-12);
  EXPECT_NEAR(best_rank_k_error(d, 3), 0.0, 1e-12);
  // psi_1 = sqrt(3) e_1 has unit mean square on the 3 points; mu_1 = 1 reconstructs 3 e_1 e_1^T exactly.
  auto psi = torch::zeros({3, 1}, torch::kFloat64);
  psi[0][0] = std::sqrt(3.0);
  EXPECT_NEAR(reconstruction_error(d, psi, torch::tensor({1.0}, torch::kFloat64)), std::sqrt(5.0 / 14.0), 1e-12);
  // The exact eigenpairs of the same points (Nystrom, mu = lambda / N, psi = sqrt(N) u) attain the bound, which
  // matches the singular values of K; other functions do worse.
  auto x = torch::rand({40, 1}, torch::kFloat64) * 4 - 2;
  auto kernel = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  auto kmat = kernel->gram(x, x);
  auto nys = nystrom_eigen(kernel, x, 3);
  const double best = best_rank_k_error(kmat, 3);
  auto sv = at::linalg_svdvals(kmat);
  EXPECT_NEAR(best, sv.slice(0, 3).square().sum().sqrt().item<double>() / sv.square().sum().sqrt().item<double>(), 1e-10);
  EXPECT_NEAR(reconstruction_error(kmat, nys(x), nys.eigenvalues), best, 1e-8);
  EXPECT_GT(reconstruction_error(kmat, torch::randn({40, 3}, torch::kFloat64), nys.eigenvalues), best + 0.01);
  EXPECT_THROW(reconstruction_error(kmat, nys(x), torch::ones({2}, torch::kFloat64)), rkhs::Error);
  EXPECT_THROW(best_rank_k_error(torch::zeros({3, 3}), 1), rkhs::Error);
}
