// SpIN (paper 002 §2.3 baseline): the masked gradient assembled from the contraction weights and the per-network
// Jacobians equals, for every network a, the autograd gradient of Lambda_aa through f_a alone (the other
// functions held fixed); a short run recovers the top eigenpair of a small RBF problem and whitens its outputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/spin.h"
#include "warning_capture.h"

using namespace rkhs::spectral;

namespace {

at::Tensor lambda_of(const at::Tensor& f, const at::Tensor& kmat) {
  const double b = double(f.size(0));
  auto sigma = f.t().mm(f) / b, pi = f.t().mm(kmat.mm(f)) / (b * b);
  auto l = torch::linalg_cholesky(sigma);
  auto a = at::linalg_solve_triangular(l, pi, false);
  return at::linalg_solve_triangular(l, a.t(), false);
}

}  // namespace

// f_a(x) = x . theta_a (one linear "network" per column): the Jacobian of Sigma_ab in theta_a is
// (1/B) sum_i f_b(x_i) x_i, that of Pi_ab is (1/B^2) sum_i (K f_b)_i x_i.
TEST(SpIN, MaskedGradientMatchesAutogradThroughOneFunction) {
  torch::manual_seed(1);
  const int64_t bsz = 40, d = 6, k = 4;
  auto x = torch::randn({bsz, d}, torch::kDouble);
  auto kmat = torch::exp(-0.5 * torch::cdist(x, x).square());
  auto theta = torch::randn({d, k}, torch::kDouble);
  auto f = x.mm(theta);
  auto [c_sigma, c_pi] = spin_contraction(f.t().mm(f) / double(bsz), f.t().mm(kmat.mm(f)) / double(bsz * bsz));
  auto j_sigma = x.t().mm(f) / double(bsz);                   // (d, b): column b = (1/B) sum_i f_b(x_i) x_i
  auto j_pi = x.t().mm(kmat.mm(f)) / double(bsz * bsz);
  for (int64_t a = 0; a < k; ++a) {
    auto masked = j_sigma.mv(c_sigma[a]) + j_pi.mv(c_pi[a]);  // sum_b C[a, b] J[b] in theta_a
    auto t = theta.select(1, a).clone().requires_grad_(true);
    std::vector<at::Tensor> cols;
    for (int64_t c = 0; c < k; ++c) cols.push_back(c == a ? x.mv(t) : f.select(1, c));
    auto lam = lambda_of(torch::stack(cols, 1), kmat);
    auto g = torch::autograd::grad({lam[a][a]}, {t})[0];
    EXPECT_TRUE(torch::allclose(masked, g, 1e-9, 1e-9)) << "network " << a << "\n" << masked << "\n" << g;
    // Lambda_aa does not depend on the functions after a.
    if (a + 1 < k) {
      EXPECT_EQ(c_sigma[a].slice(0, a + 1).abs().max().item<double>(), 0.0);
      EXPECT_EQ(c_pi[a].slice(0, a + 1).abs().max().item<double>(), 0.0);
    }
  }
}

TEST(SpIN, RecoversTheTopEigenpairOfASmallRBFProblem) {
  torch::manual_seed(2);
  auto x = torch::rand({256, 1}) * 4 - 2;
  auto kernel = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  NeuralEFOptions no;
  no.k = 3;
  NeuralEF net(no);
  NeuralEFTrainOptions to;
  to.iterations = 400;
  to.batch_size = 256;
  auto rep = train_spin(net, kernel, x, to);
  auto xd = x.to(torch::kDouble);
  auto [evals, evecs] = torch::linalg_eigh(kernel->gram(xd, xd) / 256.0);
  const double top = evals[-1].item<double>();
  EXPECT_NEAR(rep.eigenvalues[0].item<double>(), top, 0.02 * top);
  torch::NoGradGuard g;
  auto psi = net->forward(x).to(torch::kDouble);  // whitened: unit mean square, orthogonal
  EXPECT_TRUE(torch::allclose(psi.t().mm(psi) / 256.0, torch::eye(3, torch::kDouble), 1e-4, 1e-4));
  const double cosine = (psi.select(1, 0).dot(evecs.select(1, -1)) / psi.select(1, 0).norm()).abs().item<double>();
  EXPECT_GT(cosine, 0.99);
  NeuralEFOptions cnn = no;
  cnn.shared_trunk = true;
  NeuralEF shared(cnn);
  EXPECT_THROW(train_spin(shared, kernel, x, to), rkhs::Error);
}

// A network whose output is identically zero (last layer zeroed: by symmetry Lambda_aa is stationary there, so it
// stays dead) makes Sigma singular: the trainer adds jitter instead of failing and says so once, and the dead
// eigenfunction's eigenvalue is reported as 0 with a warning, not as NaN.
TEST(SpIN, SingularCovarianceGetsJitterAndOneWarning) {
  torch::manual_seed(3);
  auto x = torch::rand({128, 1}) * 4 - 2;
  NeuralEFOptions no;
  no.k = 2;
  NeuralEF net(no);
  {
    torch::NoGradGuard g;
    net->weights.back()[1].zero_();
    net->biases.back()[1].zero_();
  }
  rkhs::testing::WarningCapture capture;
  NeuralEFTrainOptions to;
  to.iterations = 20;
  auto rep = train_spin(net, rkhs::kernels::make_kernel("rbf:gamma=0.5"), x, to);
  const auto& warnings = capture.messages;
  ASSERT_EQ(warnings.size(), 2u);  // jitter (once per run, though needed again for the whitening), the dead output
  EXPECT_NE(warnings[0].find("jitter"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("exactly zero"), std::string::npos) << warnings[1];
  EXPECT_EQ(rep.eigenvalues[1].item<double>(), 0.0);
  EXPECT_TRUE(torch::isfinite(rep.eigenvalues).all().item<bool>()) << rep.eigenvalues << rep.ema_eigenvalues;
  // The contraction refuses a Sigma that is not positive definite with a clear error.
  auto bad = torch::tensor({1.0, 2.0, 2.0, 1.0}, torch::kDouble).view({2, 2});
  EXPECT_THROW(spin_contraction(bad, bad), rkhs::Error);
}
