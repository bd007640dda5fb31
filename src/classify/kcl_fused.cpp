// The kernelized classification layer as one fused autograd function (paper 000 eq. 3-7); see rkhs/classify/kcl.h.
// Forward: normalise z and w, t = clamp(z_hat w_hat^T, -1, 1), then the series k(t) / T in one pass over the
// (B, C) cosines. Backward by hand: the series derivative and the coefficient gradients in one pass, then the two
// products and the normalisations' Jacobians. This replaces ~40 small autograd nodes (M = 10 Horner steps, the
// indicators, normalisations) by one, which is what the head's cost was made of for small heads.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "rkhs/classify/heads.h"
#include "rkhs/classify/kcl.h"
#include "rkhs/kernels/series.h"

namespace rkhs::classify {

namespace {

constexpr double kMinNorm = 1e-12;  // as l2_normalize_rows

constexpr int64_t kBlock = 256;  // elements per block: the loops over a block vectorise (no cross-element chains)
// Entries per parallel chunk, ATen's own grain (at::internal::GRAIN_SIZE): smaller heads run on one thread, as the
// unfused ATen ops did (a fork-join per call costs more than the work, and much more on an oversubscribed machine).
constexpr int64_t kGrain = 32768;

static_assert(kBlock % 8 == 0, "sum_block sums eight lanes at a time");

// Sum of the kBlock entries of v with eight independent partial sums (a plain loop is one long dependency chain).
template <typename T>
T sum_block(const T* v) {
  T s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t k = 0; k < kBlock; k += 8)
    for (int j = 0; j < 8; ++j) s[j] += v[k + j];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// k(t) * inv_t for every entry of t (n entries), alpha = (a_-2, a_-1, a_0..a_M): contiguous CPU arrays.
template <typename T>
void series_forward(const T* __restrict t, const T* alpha, int64_t n, int64_t m3, double eps, double inv_t,
                    T* __restrict out) {
  const T one_minus = static_cast<T>(1.0 - eps), minus_one_plus = static_cast<T>(-1.0 + eps);
  const T it = static_cast<T>(inv_t);
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    T poly[kBlock];
    for (int64_t k0 = begin; k0 < end; k0 += kBlock) {
      const int64_t nb = std::min(kBlock, end - k0);
      const T* x = t + k0;
      for (int64_t k = 0; k < nb; ++k) poly[k] = alpha[m3 - 1];
      for (int64_t m = m3 - 2; m >= 2; --m)  // Horner over a_M .. a_0
        for (int64_t k = 0; k < nb; ++k) poly[k] = poly[k] * x[k] + alpha[m];
      for (int64_t k = 0; k < nb; ++k) {
        const T top = x[k] >= one_minus ? T(1) : T(0), bottom = x[k] <= minus_one_plus ? T(1) : T(0);
        out[k0 + k] = (alpha[0] * (top + bottom) + alpha[1] * (top - bottom) + poly[k]) * it;
      }
    }
  });
}

// For g = dL/dlogits (B, C): dt (B, C) = g * k'(t) / T where the clamp passed the cosine (|raw| <= 1), and the
// coefficient gradients sum_ij g_ij basis(t_ij) / T (basis: the two indicator terms, then t^m), as partial sums in
// rows (B, M + 3) whose column sums are the gradient: each parallel chunk of rows writes its partial sum into its
// first row and zeros into the others. Inside a chunk the sums run per lane of a block (vectorisable) and are
// reduced once at the end.
template <typename T>
void series_backward(const T* __restrict t, const T* __restrict raw, const T* __restrict g, const T* alpha, int64_t b,
                     int64_t c, int64_t m3, double eps, double inv_t, T* __restrict dt, T* __restrict rows) {
  const T one_minus = static_cast<T>(1.0 - eps), minus_one_plus = static_cast<T>(-1.0 + eps);
  const T it = static_cast<T>(inv_t);
  at::parallel_for(0, b, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, c)), [&](int64_t begin, int64_t end) {
    T deriv[kBlock], p[kBlock];
    std::vector<T> lanes(static_cast<size_t>(m3 * kBlock), T(0));  // lanes[m * kBlock + k]
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j0 = 0; j0 < c; j0 += kBlock) {
        const int64_t nb = std::min(kBlock, c - j0), k0 = i * c + j0;
        const T* x = t + k0;
        // k'(t) = sum_{m>=1} m a_m t^(m-1) by Horner.
        for (int64_t k = 0; k < nb; ++k) deriv[k] = 0;
        for (int64_t m = m3 - 1; m >= 3; --m)
          for (int64_t k = 0; k < nb; ++k) deriv[k] = deriv[k] * x[k] + static_cast<T>(m - 2) * alpha[m];
        // Branch-free bodies (both sides computed, then selected) so that the loops vectorise.
        for (int64_t k = 0; k < nb; ++k) {
          const T pk = g[k0 + k] * it, v = pk * deriv[k];
          p[k] = pk;  // g t^0, then times t per power
          dt[k0 + k] = std::abs(raw[k0 + k]) <= T(1) ? v : T(0);  // torch.clamp's backward passes -1 <= raw <= 1
        }
        T* __restrict l0 = lanes.data();
        T* __restrict l1 = l0 + kBlock;
        for (int64_t k = 0; k < nb; ++k) {
          const T pk = p[k], xk = x[k];
          const T top = xk >= one_minus ? pk : T(0), bottom = xk <= minus_one_plus ? pk : T(0);
          l0[k] += top + bottom;
          l1[k] += top - bottom;
        }
        for (int64_t m = 2; m < m3; ++m) {
          T* __restrict lm = l0 + m * kBlock;
          for (int64_t k = 0; k < nb; ++k) lm[k] += p[k];
          if (m + 1 < m3)
            for (int64_t k = 0; k < nb; ++k) p[k] *= x[k];
        }
      }
    }
    for (int64_t m = 0; m < m3; ++m) rows[begin * m3 + m] = sum_block(lanes.data() + m * kBlock);
    for (int64_t i = begin + 1; i < end; ++i)
      for (int64_t m = 0; m < m3; ++m) rows[i * m3 + m] = 0;
  });
}

// y = x / c, c = max(|x|, 1e-12) per row, norm = |x|: dx = (dy - [|x| >= 1e-12] y (y . dy)) / c (below the clamp
// c is a constant, as clamp_min's backward passes nothing there).
at::Tensor normalize_backward(const at::Tensor& y, const at::Tensor& norm, const at::Tensor& c, const at::Tensor& dy) {
  auto pass = (norm >= kMinNorm).to(y.scalar_type());
  return (dy - y * ((y * dy).sum(-1, true) * pass)) / c;
}

struct FusedKcl : public torch::autograd::Function<FusedKcl> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& z, const at::Tensor& w,
                            const at::Tensor& alpha, double eps, double temperature) {
    auto nz = z.norm(2, {-1}, true), nw = w.norm(2, {-1}, true);
    auto cz = nz.clamp_min(kMinNorm), cw = nw.clamp_min(kMinNorm);
    auto zn = z / cz, wn = w / cw;
    auto raw = zn.mm(wn.t());
    auto t = raw.clamp(-1.0, 1.0);
    auto a = alpha.contiguous();
    auto out = at::empty_like(t);
    AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "rkhs::kcl_forward", [&] {
      series_forward<scalar_t>(t.data_ptr<scalar_t>(), a.data_ptr<scalar_t>(), t.numel(), a.numel(), eps,
                               1.0 / temperature, out.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({z, w, alpha, zn, wn, cz, cw, raw, t, nz, nw});
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["temperature"] = temperature;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto s = ctx->get_saved_variables();
    const double eps = ctx->saved_data["eps"].toDouble(), temperature = ctx->saved_data["temperature"].toDouble();
    if (torch::GradMode::is_enabled()) {
      // create_graph (Hessian-vector products of ESGD/AdaHessian): differentiate the reference composition, whose
      // backward is itself differentiable.
      auto out = kcl_logits_reference(s[0], s[1], s[2], eps, temperature);
      std::vector<at::Tensor> inputs;
      std::vector<size_t> which;
      for (size_t i = 0; i < 3; ++i)
        if (ctx->needs_input_grad(i) && s[i].requires_grad()) {
          inputs.push_back(s[i]);
          which.push_back(i);
        }
      torch::autograd::variable_list result(5);
      if (inputs.empty()) return result;
      auto g = torch::autograd::grad({out}, inputs, {grads[0]}, /*retain_graph=*/true, /*create_graph=*/true,
                                     /*allow_unused=*/true);
      for (size_t k = 0; k < which.size(); ++k) result[which[k]] = g[k];
      return result;
    }
    const auto &alpha = s[2], &zn = s[3], &wn = s[4], &cz = s[5], &cw = s[6], &raw = s[7], &t = s[8];
    const auto &nz = s[9], &nw = s[10];
    auto g = grads[0].contiguous();
    auto a = alpha.contiguous();
    const int64_t b = t.size(0), c = t.size(1), m3 = a.numel();
    auto dt = at::empty_like(t);
    auto rows = at::empty({b, m3}, t.options());
    AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "rkhs::kcl_backward", [&] {
      series_backward<scalar_t>(t.data_ptr<scalar_t>(), raw.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                                a.data_ptr<scalar_t>(), b, c, m3, eps, 1.0 / temperature, dt.data_ptr<scalar_t>(),
                                rows.data_ptr<scalar_t>());
    });
    at::Tensor dz, dw, dalpha;
    if (ctx->needs_input_grad(0)) dz = normalize_backward(zn, nz, cz, dt.mm(wn));
    if (ctx->needs_input_grad(1)) dw = normalize_backward(wn, nw, cw, dt.t().mm(zn));
    if (ctx->needs_input_grad(2)) dalpha = rows.sum(0);
    return {dz, dw, dalpha, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

torch::Tensor kcl_logits_reference(const torch::Tensor& z, const torch::Tensor& w, const torch::Tensor& alpha,
                                   double eps, double temperature) {
  return kernels::series_kernel(sphere_cosines(z, w), alpha, eps) / temperature;
}

torch::Tensor kcl_logits(const torch::Tensor& z, const torch::Tensor& w, const torch::Tensor& alpha, double eps,
                         double temperature) {
  RKHS_CHECK(z.dim() == 2 && w.dim() == 2 && z.size(1) == w.size(1),
             "kcl_logits: z and w must be (B, d) and (C, d) with the same d");
  RKHS_CHECK(alpha.dim() == 1 && alpha.size(0) >= 3, "kcl_logits: alpha must be (M + 3,) with M >= 0");
  RKHS_CHECK(z.scalar_type() == w.scalar_type() && z.scalar_type() == alpha.scalar_type() &&
                 at::isFloatingType(z.scalar_type()),
             "kcl_logits: z, w and alpha must share one floating dtype");
  RKHS_CHECK(eps >= 0 && eps < 1, "kcl_logits: indicator eps must be in [0, 1)");
  RKHS_CHECK(std::isfinite(temperature) && temperature > 0, "kcl_logits: temperature must be positive");
  const bool fused_dtype = z.scalar_type() == torch::kFloat || z.scalar_type() == torch::kDouble;
  if (!fused_dtype || !z.device().is_cpu() || !w.device().is_cpu() || !alpha.device().is_cpu())
    return kcl_logits_reference(z, w, alpha, eps, temperature);
  return FusedKcl::apply(z, w, alpha, eps, temperature);
}

}  // namespace rkhs::classify
