// SpIN (Pfau et al. 2019), the baseline of paper 002 §2.3; see rkhs/spectral/spin.h.
#include "rkhs/spectral/spin.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "rkhs/core/device.h"
#include "rkhs/core/dist.h"
#include "eigen_training.h"
#include "rkhs/error.h"
#include "rkhs/warn.h"

namespace rkhs::spectral {

namespace {

// Lower Cholesky factor of a symmetric matrix; when it is not numerically positive definite, the smallest jitter
// (10^-10 .. 10^-2 of its largest diagonal entry, growing tenfold) that makes it so is added and returned in
// *jitter. Throws rkhs::Error when even the largest does not help.
at::Tensor robust_cholesky(const at::Tensor& a, double* jitter_used) {
  const double scale = std::max(a.diagonal().abs().max().item<double>(), 1e-30);
  for (double jitter = 0; jitter <= 1e-2 * scale; jitter = jitter == 0 ? 1e-10 * scale : jitter * 10) {
    auto [l, info] = at::linalg_cholesky_ex(a + jitter * torch::eye(a.size(0), a.options()));
    if (info.item<int64_t>() == 0) {
      if (jitter_used) *jitter_used = jitter;
      return l;
    }
  }
  throw Error("SpIN: the covariance of the network outputs is singular (the outputs are linearly dependent)");
}

// One warning per training run when jitter had to be added.
void warn_jitter(double jitter, bool& warned, const char* what) {
  if (jitter > 0 && !warned) {
    warn(std::string("SpIN: ") + what + " is not numerically positive definite; jitter " + std::to_string(jitter) +
         " added to its diagonal (reported once per run)");
    warned = true;
  }
}

}  // namespace

std::pair<at::Tensor, at::Tensor> spin_contraction(const at::Tensor& sigma_in, const at::Tensor& pi_in,
                                                   double jitter) {
  const int64_t k = sigma_in.size(0);
  RKHS_CHECK(sigma_in.dim() == 2 && sigma_in.size(1) == k && pi_in.sizes() == sigma_in.sizes(),
             "SpIN: Sigma and Pi must be k x k");
  torch::AutoGradMode enable(true);
  auto sigma = sigma_in.detach().to(torch::kFloat64).requires_grad_(true);
  auto pi = pi_in.detach().to(torch::kFloat64).requires_grad_(true);
  auto [l, info] = at::linalg_cholesky_ex(sigma + jitter * torch::eye(k, sigma.options()));
  RKHS_CHECK(info.item<int64_t>() == 0, "SpIN: Sigma + jitter is not positive definite (jitter " +
                                            std::to_string(jitter) + ")");
  // Lambda = L^-1 Pi L^-T by two triangular solves.
  auto a = at::linalg_solve_triangular(l, pi, /*upper=*/false);
  auto lambda = at::linalg_solve_triangular(l, a.t(), /*upper=*/false);
  auto c_sigma = torch::zeros({k, k}, sigma.options().requires_grad(false)), c_pi = torch::zeros_like(c_sigma);
  for (int64_t j = 0; j < k; ++j) {
    auto g = torch::autograd::grad({lambda[j][j]}, {sigma, pi}, {}, /*retain_graph=*/true);
    c_sigma[j] = (g[0] + g[0].t())[j];
    c_pi[j] = (g[1] + g[1].t())[j];
  }
  return {c_sigma, c_pi};
}

namespace {

// The batch Jacobians of Sigma and Pi over this process's rows of the batch: backward pass b weights f_a(x_i) by
// f_b(x_i) / B (Sigma) or by (K f_b)(x_i) / B^2 (Pi), with B the whole batch's size; slice a of the gradient is
// d Sigma_ab / d theta_a through f_a. f (b_r, k) with its graph, kf = (K F) on the same rows (b_r, k). Returns,
// per parameter tensor p, (k_b, k_a, ...) for Sigma then for Pi: 2 x params.size() tensors.
std::vector<at::Tensor> batch_jacobians(const at::Tensor& f, const at::Tensor& kf, const std::vector<at::Tensor>& params,
                                        int64_t bsz) {
  const int64_t k = f.size(1);
  const auto fd = f.detach();
  std::vector<at::Tensor> jac(2 * params.size());
  for (int which = 0; which < 2; ++which) {
    for (size_t p = 0; p < params.size(); ++p) {
      auto shape = params[p].sizes().vec();
      shape.insert(shape.begin(), k);
      jac[which * params.size() + p] = torch::zeros(shape, params[p].options());
    }
    for (int64_t b = 0; b < k; ++b) {
      auto weight = which == 0 ? fd.select(1, b) / double(bsz) : kf.select(1, b) / double(bsz * bsz);
      auto grads = torch::autograd::grad({(f * weight.unsqueeze(1)).sum()}, params, {}, /*retain_graph=*/true,
                                         /*create_graph=*/false, /*allow_unused=*/true);
      for (size_t p = 0; p < params.size(); ++p) {
        if (grads[p].defined()) jac[which * params.size() + p][b].copy_(grads[p]);
      }
    }
  }
  return jac;
}

// ema = beta ema + (1 - beta) value, or value itself on the first step (ema undefined).
void moving_average(at::Tensor& ema, const at::Tensor& value, double beta) {
  if (!ema.defined()) {
    ema = value.clone();
  } else {
    ema.mul_(beta).add_(value, 1 - beta);
  }
}

// The masked gradient of -Tr(Lambda) for network a, -sum_b C[a, b] J[b][a], into every parameter's .grad();
// throws naming the iteration (0-based `it`) when it is not finite.
void set_masked_gradients(std::vector<at::Tensor>& params, const std::vector<at::Tensor>& jac_sigma,
                          const std::vector<at::Tensor>& jac_pi, const at::Tensor& c_sigma, const at::Tensor& c_pi,
                          int64_t it) {
  const int64_t k = c_sigma.size(0);
  for (size_t p = 0; p < params.size(); ++p) {
    auto flat_s = jac_sigma[p].reshape({k, k, -1}).transpose(0, 1);  // (a, b, rest)
    auto flat_p = jac_pi[p].reshape({k, k, -1}).transpose(0, 1);
    auto g = -((c_sigma.unsqueeze(2) * flat_s).sum(1) + (c_pi.unsqueeze(2) * flat_p).sum(1));
    RKHS_CHECK(torch::isfinite(g).all().item<bool>(),
               "SpIN: the gradient is not finite at iteration " + std::to_string(it + 1) + " (lower --lr?)");
    params[p].mutable_grad() = g.reshape(params[p].sizes()).clone();
  }
}

// The moving averages of Sigma, Pi (k, k) and, per parameter tensor p of shape (k, ...), of the Jacobians
// J[b][a] = d Sigma_ab / d p[a] (and of Pi), stored as (k_b, k_a, ...).
struct SpinAverages {
  at::Tensor sigma, pi;
  std::vector<at::Tensor> jac_sigma, jac_pi;

  // One batch: f (b_r, k) this rank's raw outputs with their graph, kf = (K F) on the same rows, bsz the whole
  // batch's size. The batch's Sigma, Pi and Jacobians are sums over its rows, so with several processes
  // (docs/DISTRIBUTED.md) they are summed over the ranks in one all-reduce and every rank takes the same step.
  void add(const at::Tensor& f, const at::Tensor& kf, const std::vector<at::Tensor>& params, int64_t bsz,
           double beta, core::DistWorld& dist, const std::string& at) {
    auto batch = batch_jacobians(f, kf, params, bsz);
    torch::NoGradGuard g;
    const auto fd = f.detach();
    batch.push_back(fd.t().mm(fd) / double(bsz));        // Sigma
    batch.push_back(fd.t().mm(kf) / double(bsz * bsz));  // Pi
    dist.all_reduce_sum(batch, "Sigma, Pi and their Jacobians" + at);
    const size_t n = params.size();
    jac_sigma.resize(n);
    jac_pi.resize(n);
    for (size_t j = 0; j < n; ++j) {
      moving_average(jac_sigma[j], batch[j], beta);
      moving_average(jac_pi[j], batch[n + j], beta);
    }
    moving_average(sigma, batch[2 * n], beta);
    moving_average(pi, batch[2 * n + 1], beta);
  }
};

// The eigenvalue estimates: the diagonal of Lambda = L^-1 Pi L^-T, with L the Cholesky factor of Sigma.
void set_eigenvalues(NeuralEF& net, const at::Tensor& l, const at::Tensor& pi) {
  torch::NoGradGuard g;
  auto a = at::linalg_solve_triangular(l, pi.to(torch::kFloat64), false);
  auto lambda = at::linalg_solve_triangular(l, a.t(), false);
  net->eigenvalues.copy_(lambda.diagonal().to(net->eigenvalues.scalar_type()));
}

}  // namespace

NeuralEFReport train_spin(NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                          const NeuralEFTrainOptions& o, const SpINOptions& spin) {
  check_training_inputs(net, kernel, x, o, "SpIN");
  RKHS_CHECK(net->options.architecture == "mlp" && !net->options.shared_trunk,
             "SpIN: implemented for k separate MLPs (the Jacobian moving average is kept per network)");
  RKHS_CHECK(spin.decay >= 0 && spin.decay < 1, "SpIN: the moving-average decay must be in [0, 1)");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  EigenBatches batches(x, kernel, o, gen);
  const int64_t bsz = batches.size();
  std::vector<at::Tensor> params;
  for (auto& w : net->weights) params.push_back(w);
  for (auto& b : net->biases) params.push_back(b);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(o.lr));
  net->train();
  SpinAverages avg;
  // Several processes (docs/DISTRIBUTED.md): every rank starts from rank 0's networks, draws the same batches and
  // forwards its share of each batch's rows.
  auto& dist = core::DistWorld::get();
  RKHS_CHECK(!dist.active() || bsz >= dist.size(), "SpIN: the batch (" + std::to_string(bsz) +
                                                       ") must have at least one point per process");
  if (dist.active()) dist.broadcast(params, 0, "the initial networks");
  NeuralEFReport r;
  bool warned = false;
  core::LoopHooks hooks;
  hooks.set_lr = [&opt](double lr) { static_cast<torch::optim::AdamOptions&>(opt.param_groups()[0].options()).lr(lr); };
  hooks.step = [&](const core::Step& s) {
    const int64_t it = s.global;
    auto [xb, kb] = batches.next();
    const auto [begin, end] = core::shard_range(bsz, dist.rank(), dist.size());
    auto f = net->raw(xb.slice(0, begin, end));  // (b_r, k): this rank's rows
    const std::string at = " of iteration " + std::to_string(it + 1);
    const auto kf = kb.slice(0, begin, end).mm(dist.all_gather_rows(f.detach(), "the outputs" + at));  // K F
    avg.add(f, kf, params, bsz, it == 0 ? 0.0 : spin.decay, dist, at);
    double jitter = 0;
    auto l = robust_cholesky(avg.sigma.to(torch::kFloat64), &jitter);
    warn_jitter(jitter, warned, "the moving-average covariance of the outputs");
    auto [c_sigma, c_pi] = spin_contraction(avg.sigma, avg.pi, jitter);
    set_masked_gradients(params, avg.jac_sigma, avg.jac_pi, c_sigma.to(f.scalar_type()), c_pi.to(f.scalar_type()), it);
    opt.step();
    set_eigenvalues(net, l, avg.pi);
    core::step_done(x.device());
    core::StepLoss none;
    none.check = false;  // no loss value: the gradient is checked above
    return none;
  };
  r.train_seconds = core::run_loop(iteration_loop("SpIN", o, x.device()), hooks).seconds;
  r.ema_eigenvalues = net->eigenvalues.to(torch::kCPU, torch::kFloat64).clone();
  // The eigenfunctions Psi = L^-1 f with Sigma from the final networks on the evaluation points.
  finish_report(net, kernel, x, o, gen, r, [&net, &warned](const at::Tensor& xs) {
    auto f = net->raw(xs).to(torch::kFloat64);
    double jitter = 0;
    auto l = robust_cholesky(f.t().mm(f) / double(f.size(0)), &jitter);
    warn_jitter(jitter, warned, "the covariance of the final outputs");
    auto inv = at::linalg_solve_triangular(l, torch::eye(l.size(0), l.options()), false);
    net->whitening.resize_(inv.sizes()).copy_(inv.to(net->whitening.scalar_type()));
  });
  return r;
}

}  // namespace rkhs::spectral
