// Pair products and sparse x dense products with exact backward passes (see the header).
#include "rkhs/kernelnet/sparse_ops.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

#include "rkhs/error.h"

namespace rkhs::kernelnet {

namespace {

// Pairs per block of the non-CPU fallbacks: bounds their (block, d) temporaries to 2^22 elements.
int64_t fallback_block(int64_t d) { return std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, d)); }

// out[oi[k]] += coef[k] * src[si[k]] (rows of length d), in place. Serial on the CPU: pairs may share an output
// row, and the rows being read are few enough to stay in cache.
void scatter_rows(at::Tensor& out, const at::Tensor& oi, const at::Tensor& src, const at::Tensor& si,
                  const at::Tensor& coef) {
  const int64_t n = oi.size(0), d = src.size(1);
  if (n == 0) return;
  if (!out.device().is_cpu()) {
    const int64_t block = fallback_block(d);
    for (int64_t s = 0; s < n; s += block) {
      const int64_t m = std::min(block, n - s);
      out.index_add_(0, oi.narrow(0, s, m), src.index_select(0, si.narrow(0, s, m)) * coef.narrow(0, s, m).unsqueeze(1));
    }
    return;
  }
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "rkhs::scatter_rows", [&] {
    scalar_t* __restrict o = out.data_ptr<scalar_t>();
    const scalar_t* __restrict x = src.data_ptr<scalar_t>();
    const scalar_t* c = coef.data_ptr<scalar_t>();
    const int64_t* po = oi.data_ptr<int64_t>();
    const int64_t* ps = si.data_ptr<int64_t>();
    for (int64_t k = 0; k < n; ++k) {
      scalar_t* __restrict orow = o + po[k] * d;
      const scalar_t* __restrict xrow = x + ps[k] * d;
      const scalar_t ck = c[k];
      for (int64_t j = 0; j < d; ++j) orow[j] += ck * xrow[j];
    }
  });
}

at::Tensor pair_dot_forward(const at::Tensor& h, const at::Tensor& w, const at::Tensor& rows, const at::Tensor& cols) {
  const int64_t n = rows.size(0), d = h.size(1);
  auto out = at::empty({n}, h.options());
  if (n == 0) return out;
  if (!h.device().is_cpu()) {
    const int64_t block = fallback_block(d);
    for (int64_t s = 0; s < n; s += block) {
      const int64_t m = std::min(block, n - s);
      out.narrow(0, s, m).copy_((h.index_select(0, rows.narrow(0, s, m)) * w.index_select(0, cols.narrow(0, s, m))).sum(1));
    }
    return out;
  }
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "rkhs::pair_dot", [&] {
    const scalar_t* ph = h.data_ptr<scalar_t>();
    const scalar_t* pw = w.data_ptr<scalar_t>();
    const int64_t* pr = rows.data_ptr<int64_t>();
    const int64_t* pc = cols.data_ptr<int64_t>();
    scalar_t* po = out.data_ptr<scalar_t>();
    at::parallel_for(0, n, 1024, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const scalar_t* __restrict a = ph + pr[k] * d;
        const scalar_t* __restrict b = pw + pc[k] * d;
        // Four partial sums: independent chains the compiler can keep in flight.
        scalar_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t j = 0;
        for (; j + 4 <= d; j += 4) {
          s0 += a[j] * b[j];
          s1 += a[j + 1] * b[j + 1];
          s2 += a[j + 2] * b[j + 2];
          s3 += a[j + 3] * b[j + 3];
        }
        for (; j < d; ++j) s0 += a[j] * b[j];
        po[k] = (s0 + s1) + (s2 + s3);
      }
    });
  });
  return out;
}

struct PairDot : public torch::autograd::Function<PairDot> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& h, const at::Tensor& w,
                            const at::Tensor& rows, const at::Tensor& cols) {
    ctx->save_for_backward({h, w, rows, cols});
    return pair_dot_forward(h, w, rows, cols);
  }
  // d/dh[r] = sum over pairs (r, c) of g * w[c]; d/dw[c] = sum over pairs (r, c) of g * h[r].
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    RKHS_CHECK(!torch::GradMode::is_enabled(), "pair_dot: second-order gradients (create_graph) are not supported");
    auto saved = ctx->get_saved_variables();
    const auto &h = saved[0], &w = saved[1], &rows = saved[2], &cols = saved[3];
    const auto g = grads[0].contiguous();
    at::Tensor gh, gw;
    if (ctx->needs_input_grad(0)) {
      gh = torch::zeros_like(h);
      scatter_rows(gh, rows, w, cols, g);
    }
    if (ctx->needs_input_grad(1)) {
      gw = torch::zeros_like(w);
      scatter_rows(gw, cols, h, rows, g);
    }
    return {gh, gw, at::Tensor(), at::Tensor()};
  }
};

struct SparseMatmul : public torch::autograd::Function<SparseMatmul> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows, const at::Tensor& cols,
                            const at::Tensor& values, int64_t n_rows, const at::Tensor& x) {
    ctx->save_for_backward({rows, cols, values});
    ctx->saved_data["x_rows"] = x.size(0);
    auto y = torch::zeros({n_rows, x.size(1)}, x.options());
    scatter_rows(y, rows, x, cols, values);
    return y;
  }
  // dL/dx[c] = sum over entries (r, c) of values * dL/dy[r]: the same scatter with the roles swapped (S^T g).
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    RKHS_CHECK(!torch::GradMode::is_enabled(), "sparse_matmul: second-order gradients (create_graph) are not supported");
    auto saved = ctx->get_saved_variables();
    const auto g = grads[0].contiguous();
    auto gx = torch::zeros({ctx->saved_data["x_rows"].toInt(), g.size(1)}, g.options());
    scatter_rows(gx, saved[1], g, saved[0], saved[2]);
    return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), gx};
  }
};

void check_index(const char* who, const char* what, const at::Tensor& i, int64_t n, const at::Tensor& operand) {
  RKHS_CHECK(i.dim() == 1 && i.size(0) == n && i.scalar_type() == torch::kLong,
             std::string(who) + ": " + what + " must be an int64 vector of length " + std::to_string(n));
  RKHS_CHECK(i.device() == operand.device(), std::string(who) + ": " + what + " must be on the operands' device");
}

// Both index vectors in range (an index outside would read or write out of bounds, or trip a device-side assert
// on a GPU): one host read for both, so a product costs one synchronisation.
void check_ranges(const char* who, const char* first, const at::Tensor& i, int64_t limit_i, const char* second,
                  const at::Tensor& j, int64_t limit_j) {
  if (i.numel() == 0) return;
  const auto bounds = torch::stack({i.min(), i.max(), j.min(), j.max()}).cpu();
  const auto b = bounds.accessor<int64_t, 1>();
  RKHS_CHECK(b[0] >= 0 && b[1] < limit_i,
             std::string(who) + ": " + first + " has an index outside [0, " + std::to_string(limit_i) + ")");
  RKHS_CHECK(b[2] >= 0 && b[3] < limit_j,
             std::string(who) + ": " + second + " has an index outside [0, " + std::to_string(limit_j) + ")");
}

}  // namespace

at::Tensor pair_dot(const at::Tensor& h, const at::Tensor& w, const at::Tensor& rows, const at::Tensor& cols) {
  RKHS_CHECK(h.dim() == 2 && w.dim() == 2 && h.size(1) == w.size(1),
             "pair_dot: h and w must be (n, d) and (m, d) with the same d");
  RKHS_CHECK(at::isFloatingType(h.scalar_type()) && h.scalar_type() == w.scalar_type() && h.device() == w.device(),
             "pair_dot: h and w must share one floating dtype and device");
  check_index("pair_dot", "rows", rows, rows.numel(), h);
  check_index("pair_dot", "cols", cols, rows.numel(), h);
  check_ranges("pair_dot", "rows", rows, h.size(0), "cols", cols, w.size(0));
  return PairDot::apply(h.contiguous(), w.contiguous(), rows.contiguous(), cols.contiguous());
}

at::Tensor sparse_matmul(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values, int64_t n_rows,
                         const at::Tensor& x) {
  RKHS_CHECK(x.dim() == 2 && at::isFloatingType(x.scalar_type()), "sparse_matmul: x must be a floating (m, d) matrix");
  RKHS_CHECK(n_rows >= 0, "sparse_matmul: negative number of rows");
  const int64_t n = values.numel();
  RKHS_CHECK(values.dim() == 1 && values.scalar_type() == x.scalar_type() && values.device() == x.device(),
             "sparse_matmul: values must be a vector of x's dtype on x's device");
  RKHS_CHECK(!values.requires_grad(), "sparse_matmul: values are constants (no gradient is computed for them)");
  check_index("sparse_matmul", "rows", rows, n, x);
  check_index("sparse_matmul", "cols", cols, n, x);
  check_ranges("sparse_matmul", "rows", rows, n_rows, "cols", cols, x.size(0));
  return SparseMatmul::apply(rows.contiguous(), cols.contiguous(), values.contiguous(), n_rows, x.contiguous());
}

}  // namespace rkhs::kernelnet
