// The kernelized classification layer as one fused autograd function (paper 000 eq. 3-7); see rkhs/classify/kcl.h.
// Forward: normalise z and w, t = clamp(z_hat w_hat^T, -1, 1), then the series k(t) / T in one pass over the
// (B, C) cosines. Backward by hand: the series derivative and the coefficient gradients in one pass, then the two
// products and the normalisations' Jacobians. This replaces ~40 small autograd nodes (M = 10 Horner steps, the
// indicators, normalisations) by one, which is what the head's cost was made of for small heads. The loops over
// entries and rows are in kcl_kernels.cpp (vectorised, AVX2 where the CPU has it); this file splits them across
// threads and does the matrix products.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>
#include <vector>

#include "common.h"
#include "rkhs/classify/heads.h"
#include "rkhs/classify/kcl.h"
#include "rkhs/kernels/series.h"
#include "kcl_kernels.h"

namespace rkhs::classify {

namespace {

constexpr double kMinNorm = 1e-12;  // as l2_normalize_rows

// Entries per parallel chunk, ATen's own grain (at::internal::GRAIN_SIZE): smaller heads run on one thread, as the
// unfused ATen ops did (a fork-join per call costs more than the work, and much more on an oversubscribed machine).
constexpr int64_t kGrain = 32768;

// Rows per parallel chunk for row-wise work on (rows, cols) arrays.
int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, cols)); }

// (y, |x|) of rows x / max(|x|, 1e-12): eq. 3-4's normalised embeddings and class weights.
std::pair<at::Tensor, at::Tensor> normalize_rows(const at::Tensor& x_in) {
  auto x = x_in.contiguous();
  const int64_t rows = x.size(0), d = x.size(1);
  auto y = at::empty_like(x), norm = at::empty({rows}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rkhs::kcl_normalize", [&] {
    const scalar_t* px = x.data_ptr<scalar_t>();
    scalar_t *py = y.data_ptr<scalar_t>(), *pn = norm.data_ptr<scalar_t>();
    at::parallel_for(0, rows, row_grain(d), [&](int64_t begin, int64_t end) {
      cpu::normalize_rows(px + begin * d, end - begin, d, kMinNorm, py + begin * d, pn + begin);
    });
  });
  return {y, norm};
}

at::Tensor normalize_rows_backward(const at::Tensor& y, const at::Tensor& norm, const at::Tensor& dy_in) {
  auto dy = dy_in.contiguous();
  const int64_t rows = y.size(0), d = y.size(1);
  auto dx = at::empty_like(y);
  AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "rkhs::kcl_normalize_backward", [&] {
    const scalar_t *py = y.data_ptr<scalar_t>(), *pn = norm.data_ptr<scalar_t>(), *pdy = dy.data_ptr<scalar_t>();
    scalar_t* pdx = dx.data_ptr<scalar_t>();
    at::parallel_for(0, rows, row_grain(d), [&](int64_t begin, int64_t end) {
      cpu::normalize_rows_backward(py + begin * d, pn + begin, pdy + begin * d, end - begin, d, kMinNorm,
                                   pdx + begin * d);
    });
  });
  return dx;
}

// |x_i| for the rows of x (contiguous).
at::Tensor row_norms(const at::Tensor& x) {
  const int64_t rows = x.size(0), d = x.size(1);
  auto norm = at::empty({rows}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rkhs::kcl_row_norms", [&] {
    const scalar_t* px = x.data_ptr<scalar_t>();
    scalar_t* pn = norm.data_ptr<scalar_t>();
    at::parallel_for(0, rows, row_grain(d), [&](int64_t begin, int64_t end) {
      cpu::row_norms(px + begin * d, end - begin, d, pn + begin);
    });
  });
  return norm;
}

// Row i of the contiguous (B, C) array a divided by max(norm_i, 1e-12), in place (a loop: C is small next to d).
void scale_rows(at::Tensor& a, const at::Tensor& norm) {
  const int64_t rows = a.size(0), cols = a.size(1);
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "rkhs::kcl_scale_rows", [&] {
    scalar_t* pa = a.data_ptr<scalar_t>();
    const scalar_t* pn = norm.data_ptr<scalar_t>();
    for (int64_t i = 0; i < rows; ++i) {
      const scalar_t inv = scalar_t(1) / std::max(pn[i], static_cast<scalar_t>(kMinNorm));
      for (int64_t c = 0; c < cols; ++c) pa[i * cols + c] *= inv;
    }
  });
}

// sum_c a_ic b_ic for contiguous (B, C) arrays, in double.
at::Tensor row_dots(const at::Tensor& a, const at::Tensor& b) {
  const int64_t rows = a.size(0), cols = a.size(1);
  auto out = at::empty({rows}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "rkhs::kcl_row_dots", [&] {
    const scalar_t *pa = a.data_ptr<scalar_t>(), *pb = b.data_ptr<scalar_t>();
    scalar_t* po = out.data_ptr<scalar_t>();
    for (int64_t i = 0; i < rows; ++i) {
      double sum = 0;
      for (int64_t c = 0; c < cols; ++c) sum += double(pa[i * cols + c]) * pb[i * cols + c];
      po[i] = static_cast<scalar_t>(sum);
    }
  });
  return out;
}

// normalize_rows_backward from x itself (contiguous) and proj_i = y_i . dy_i.
at::Tensor scaled_rows_backward(const at::Tensor& x, const at::Tensor& norm, const at::Tensor& dy_in,
                                const at::Tensor& proj) {
  auto dy = dy_in.contiguous();
  const int64_t rows = x.size(0), d = x.size(1);
  auto dx = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rkhs::kcl_scaled_rows_backward", [&] {
    const scalar_t *px = x.data_ptr<scalar_t>(), *pn = norm.data_ptr<scalar_t>(), *pdy = dy.data_ptr<scalar_t>(),
                   *pp = proj.data_ptr<scalar_t>();
    scalar_t* pdx = dx.data_ptr<scalar_t>();
    at::parallel_for(0, rows, row_grain(d), [&](int64_t begin, int64_t end) {
      cpu::scaled_rows_backward(px + begin * d, pn + begin, pdy + begin * d, pp + begin, end - begin, d, kMinNorm,
                                pdx + begin * d);
    });
  });
  return dx;
}

struct FusedKcl : public torch::autograd::Function<FusedKcl> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& z, const at::Tensor& w,
                            const at::Tensor& alpha, double eps, double temperature) {
    // The cosines before the clamp to [-1, 1], which the series loops apply. With fewer classes than embedding
    // dimensions, (z w^T) / max(|z|, 1e-12) by rows: the normalised embeddings (B, d) are never formed, only their
    // norms, and the work moves to the smaller (B, C) logits; otherwise z^ w^T from the normalised embeddings.
    const bool by_norms = w.size(0) < z.size(1);
    auto [wn, nw] = normalize_rows(w);
    at::Tensor zs, nz, raw;  // zs: z (by_norms) or z^
    if (by_norms) {
      zs = z.contiguous();
      nz = row_norms(zs);
      raw = zs.mm(wn.t());
      scale_rows(raw, nz);
    } else {
      std::tie(zs, nz) = normalize_rows(z);
      raw = zs.mm(wn.t());
    }
    auto a = alpha.contiguous();
    auto out = at::empty_like(raw);
    const int64_t n = raw.numel();
    AT_DISPATCH_FLOATING_TYPES(raw.scalar_type(), "rkhs::kcl_forward", [&] {
      const scalar_t *pr = raw.data_ptr<scalar_t>(), *pa = a.data_ptr<scalar_t>();
      scalar_t* po = out.data_ptr<scalar_t>();
      at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
        cpu::series_forward(pr + begin, pa, a.numel(), eps, 1.0 / temperature, end - begin, po + begin);
      });
    });
    ctx->save_for_backward({z, w, alpha, zs, wn, raw, nz, nw});
    ctx->saved_data["by_norms"] = by_norms;
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
    const auto &alpha = s[2], &zs = s[3], &wn = s[4], &raw = s[5], &nz = s[6], &nw = s[7];
    const bool by_norms = ctx->saved_data["by_norms"].toBool();
    auto g = grads[0].contiguous();
    auto a = alpha.contiguous();
    const int64_t b = raw.size(0), c = raw.size(1), m3 = a.numel();
    auto dt = at::empty_like(raw);
    // Coefficient gradients in double, as partial sums: each parallel chunk of rows adds its sums into the slot of
    // its first row, and the slots are summed at the end.
    std::vector<double> partial(static_cast<size_t>(b * m3), 0.0);
    AT_DISPATCH_FLOATING_TYPES(raw.scalar_type(), "rkhs::kcl_backward", [&] {
      const scalar_t *pr = raw.data_ptr<scalar_t>(), *pg = g.data_ptr<scalar_t>(), *pa = a.data_ptr<scalar_t>();
      scalar_t* pdt = dt.data_ptr<scalar_t>();
      at::parallel_for(0, b, row_grain(c), [&](int64_t begin, int64_t end) {
        cpu::series_backward(pr + begin * c, pg + begin * c, pa, m3, eps, 1.0 / temperature, (end - begin) * c,
                             pdt + begin * c, partial.data() + begin * m3);
      });
    });
    at::Tensor dz, dw, dalpha;
    // by_norms, with z^ = z / max(|z|, 1e-12) by rows: dL/dz^ = dt w^, whose projection on z^_i is
    // sum_c dt_ic raw_ic (a (B, C) sum instead of a pass over d), and dL/dw^ = dt^T z^ = (dt / max(|z|, 1e-12))^T z.
    if (ctx->needs_input_grad(0)) {
      const auto dzs = dt.mm(wn);
      dz = by_norms ? scaled_rows_backward(zs, nz, dzs, row_dots(dt, raw)) : normalize_rows_backward(zs, nz, dzs);
    }
    if (ctx->needs_input_grad(1)) {
      auto dts = by_norms ? dt.clone() : dt;
      if (by_norms) scale_rows(dts, nz);
      dw = normalize_rows_backward(wn, nw, dts.t().mm(zs));
    }
    if (ctx->needs_input_grad(2)) {
      dalpha = at::empty({m3}, alpha.options());
      AT_DISPATCH_FLOATING_TYPES(alpha.scalar_type(), "rkhs::kcl_dalpha", [&] {
        scalar_t* pd = dalpha.data_ptr<scalar_t>();
        for (int64_t m = 0; m < m3; ++m) {
          double total = 0;
          for (int64_t i = 0; i < b; ++i) total += partial[i * m3 + m];
          pd[m] = static_cast<scalar_t>(total);
        }
      });
    }
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
