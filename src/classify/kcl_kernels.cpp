// The loops of rkhs/classify's fused KCL (see kcl_kernels.h), written once over GCC/Clang vector extensions and
// compiled twice on x86-64: for the baseline ISA (SSE2, 128-bit vectors) and for AVX2 + FMA (256-bit), picked at run
// time. Every loop keeps its running values in registers (the series by Horner, the coefficient sums in one
// accumulator vector per basis function); a tail shorter than a vector runs through a zero-padded copy.
#include "kcl_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "simd.h"

namespace rkhs::classify::cpu {

namespace {

using simd::Simd;

// The coefficient sums are flushed into the double totals after this many unrolled steps, so that a float
// accumulator lane never sums more than a few thousand terms.
constexpr int64_t kFlushSteps = 256;

// The vector at p clamped to [-1, 1].
template <typename S, typename T>
RKHS_INLINE typename S::V load_clamped(const T* p) {
  const typename S::V lo = S::splat(-1), hi = S::splat(1);
  typename S::V r = S::load(p);
  r = r < lo ? lo : r;  // NaN compares false and stays NaN, as torch.clamp
  return r > hi ? hi : r;
}

// The loops below take U vectors at a time (U independent Horner chains in flight instead of one, whose latency
// would bound the loop), then single vectors, then a zero-padded tail.
constexpr int kUnroll = 4;

// out[u] = k(clamp(raw[u])) * it for U vectors starting at raw.
template <typename S, int U, typename T>
RKHS_INLINE void series_values(const T* raw, const T* alpha, int64_t m3, T one_minus, T minus_one_plus, T it,
                               T* out) {
  using V = typename S::V;
  constexpr int W = S::kWidth;
  V x[U], poly[U];
  for (int u = 0; u < U; ++u) {
    x[u] = load_clamped<S, T>(raw + u * W);
    poly[u] = S::splat(alpha[m3 - 1]);
  }
  for (int64_t m = m3 - 2; m >= 2; --m)  // Horner over a_M .. a_0
    for (int u = 0; u < U; ++u) poly[u] = poly[u] * x[u] + alpha[m];
  const V zero = {}, one = S::splat(1);
  for (int u = 0; u < U; ++u) {
    const V top = x[u] >= one_minus ? one : zero, bottom = x[u] <= minus_one_plus ? one : zero;
    S::store(out + u * W, (alpha[0] * (top + bottom) + alpha[1] * (top - bottom) + poly[u]) * it);
  }
}

template <typename T, int W>
RKHS_INLINE void series_forward_impl(const T* raw, const T* alpha, int64_t m3, double eps, double inv_t, int64_t n,
                                     T* out) {
  using S = Simd<T, W>;
  const T one_minus = static_cast<T>(1.0 - eps), minus_one_plus = static_cast<T>(-1.0 + eps);
  const T it = static_cast<T>(inv_t);
  int64_t k = 0;
  for (; k + kUnroll * W <= n; k += kUnroll * W)
    series_values<S, kUnroll>(raw + k, alpha, m3, one_minus, minus_one_plus, it, out + k);
  for (; k + W <= n; k += W) series_values<S, 1>(raw + k, alpha, m3, one_minus, minus_one_plus, it, out + k);
  if (k < n) {
    T in[W] = {}, res[W];
    std::copy(raw + k, raw + n, in);
    series_values<S, 1>(in, alpha, m3, one_minus, minus_one_plus, it, res);
    std::copy(res, res + (n - k), out + k);
  }
}

// U vectors of entries starting at raw and g: dt, and the basis sums of all U added into the m3 accumulator
// vectors in acc (one load and store per basis function for U vectors).
template <typename S, int U, typename T>
RKHS_INLINE void series_backward_step(const T* raw, const T* g, const T* dalpha, int64_t m3,
                                      T one_minus, T minus_one_plus, T it, T* dt, T* acc) {
  using V = typename S::V;
  constexpr int W = S::kWidth;
  const V zero = {}, one = S::splat(1);
  V x[U], p[U], deriv[U];
  for (int u = 0; u < U; ++u) {
    x[u] = load_clamped<S, T>(raw + u * W);
    deriv[u] = zero;
  }
  // k'(t) = sum_{m >= 1} m a_m t^(m - 1) by Horner; dalpha[m] = (m - 2) alpha[m].
  for (int64_t m = m3 - 1; m >= 3; --m)
    for (int u = 0; u < U; ++u) deriv[u] = deriv[u] * x[u] + dalpha[m];
  V ind_sum = zero, ind_diff = zero;
  for (int u = 0; u < U; ++u) {
    const V r = S::load(raw + u * W);
    p[u] = S::load(g + u * W) * it;  // g t^0 / T
    const V absr = r < zero ? -r : r;
    S::store(dt + u * W, absr <= one ? p[u] * deriv[u] : zero);  // torch.clamp's backward passes -1 <= raw <= 1
    const V top = x[u] >= one_minus ? p[u] : zero, bottom = x[u] <= minus_one_plus ? p[u] : zero;
    ind_sum += top + bottom;
    ind_diff += top - bottom;
  }
  S::store(acc, S::load(acc) + ind_sum);
  S::store(acc + W, S::load(acc + W) + ind_diff);
  for (int64_t m = 2; m < m3; ++m) {  // g t^m / T
    V sum = p[0];
    for (int u = 1; u < U; ++u) sum += p[u];
    S::store(acc + m * W, S::load(acc + m * W) + sum);
    for (int u = 0; u < U; ++u) p[u] = p[u] * x[u];
  }
}

// Adds the lane sums of the m3 accumulator vectors in acc into the double totals and zeroes acc (no lambda: a
// lambda's body would not inherit the AVX2 target of the function it is written in).
template <typename S, typename T>
RKHS_INLINE void flush_sums(T* acc, int64_t m3, double* totals) {
  for (int64_t m = 0; m < m3; ++m) {
    totals[m] += static_cast<double>(S::sum(S::load(acc + m * S::kWidth)));
    S::store(acc + m * S::kWidth, typename S::V{});
  }
}

template <typename T, int W>
RKHS_INLINE void series_backward_impl(const T* raw, const T* g, const T* alpha, int64_t m3, double eps, double inv_t,
                                      int64_t n, T* dt, double* grad_alpha) {
  using S = Simd<T, W>;
  const T one_minus = static_cast<T>(1.0 - eps), minus_one_plus = static_cast<T>(-1.0 + eps);
  const T it = static_cast<T>(inv_t);
  std::vector<T> dalpha(static_cast<size_t>(m3), T(0));
  for (int64_t m = 3; m < m3; ++m) dalpha[m] = static_cast<T>(m - 2) * alpha[m];
  // The accumulator vectors as plain storage (a std::vector of vector types would not honour their alignment).
  std::vector<T> acc(static_cast<size_t>(m3 * W), T(0));
  int64_t k = 0, since_flush = 0;
  for (; k + kUnroll * W <= n; k += kUnroll * W) {
    series_backward_step<S, kUnroll>(raw + k, g + k, dalpha.data(), m3, one_minus, minus_one_plus, it, dt + k,
                                     acc.data());
    if (++since_flush == kFlushSteps) {
      flush_sums<S>(acc.data(), m3, grad_alpha);
      since_flush = 0;
    }
  }
  for (; k + W <= n; k += W)
    series_backward_step<S, 1>(raw + k, g + k, dalpha.data(), m3, one_minus, minus_one_plus, it, dt + k,
                               acc.data());
  if (k < n) {  // the tail with g = 0 in the padding, which adds nothing to the sums
    T r[W] = {}, gg[W] = {}, res[W];
    std::copy(raw + k, raw + n, r);
    std::copy(g + k, g + n, gg);
    series_backward_step<S, 1>(r, gg, dalpha.data(), m3, one_minus, minus_one_plus, it, res, acc.data());
    std::copy(res, res + (n - k), dt + k);
  }
  flush_sums<S>(acc.data(), m3, grad_alpha);
}

// Dot product of two length-d rows with W-lane partial sums.
template <typename T, int W>
RKHS_INLINE T dot(const T* a, const T* b, int64_t d) {
  using S = Simd<T, W>;
  typename S::V s = {};
  int64_t k = 0;
  for (; k + W <= d; k += W) s += S::load(a + k) * S::load(b + k);
  T total = S::sum(s);
  for (; k < d; ++k) total += a[k] * b[k];
  return total;
}

template <typename T, int W>
RKHS_INLINE void normalize_rows_impl(const T* x, int64_t rows, int64_t d, double min_norm, T* y, T* norm) {
  using S = Simd<T, W>;
  for (int64_t i = 0; i < rows; ++i) {
    const T* xi = x + i * d;
    T* yi = y + i * d;
    const T nrm = std::sqrt(dot<T, W>(xi, xi, d));
    norm[i] = nrm;
    const T inv = T(1) / std::max(nrm, static_cast<T>(min_norm));
    int64_t k = 0;
    for (; k + W <= d; k += W) S::store(yi + k, S::load(xi + k) * inv);
    for (; k < d; ++k) yi[k] = xi[k] * inv;
  }
}

template <typename T, int W>
RKHS_INLINE void normalize_rows_backward_impl(const T* y, const T* norm, const T* dy, int64_t rows, int64_t d,
                                              double min_norm, T* dx) {
  using S = Simd<T, W>;
  for (int64_t i = 0; i < rows; ++i) {
    const T *yi = y + i * d, *dyi = dy + i * d;
    T* dxi = dx + i * d;
    const T proj = norm[i] >= static_cast<T>(min_norm) ? dot<T, W>(yi, dyi, d) : T(0);
    const T inv = T(1) / std::max(norm[i], static_cast<T>(min_norm));
    int64_t k = 0;
    for (; k + W <= d; k += W) S::store(dxi + k, (S::load(dyi + k) - S::load(yi + k) * proj) * inv);
    for (; k < d; ++k) dxi[k] = (dyi[k] - yi[k] * proj) * inv;
  }
}

template <typename T, int W>
RKHS_INLINE void row_norms_impl(const T* x, int64_t rows, int64_t d, T* norm) {
  for (int64_t i = 0; i < rows; ++i) norm[i] = std::sqrt(dot<T, W>(x + i * d, x + i * d, d));
}

template <typename T, int W>
RKHS_INLINE void scaled_rows_backward_impl(const T* x, const T* norm, const T* dy, const T* proj, int64_t rows,
                                           int64_t d, double min_norm, T* dx) {
  using S = Simd<T, W>;
  for (int64_t i = 0; i < rows; ++i) {
    const T *xi = x + i * d, *dyi = dy + i * d;
    T* dxi = dx + i * d;
    const T inv = T(1) / std::max(norm[i], static_cast<T>(min_norm));
    const T shift = norm[i] >= static_cast<T>(min_norm) ? proj[i] * inv : T(0);  // proj_i times y_i = x_i inv
    int64_t k = 0;
    for (; k + W <= d; k += W) S::store(dxi + k, (S::load(dyi + k) - S::load(xi + k) * shift) * inv);
    for (; k < d; ++k) dxi[k] = (dyi[k] - xi[k] * shift) * inv;
  }
}

// Each loop once for the baseline ISA (16-byte vectors) and, on x86-64, once for AVX2 + FMA (32-byte vectors).
#define RKHS_KCL_VARIANTS(T)                                                                                       \
  void series_forward_base(const T* raw, const T* alpha, int64_t m3, double eps, double inv_t, int64_t n,           \
                           T* out) {                                                                                \
    series_forward_impl<T, 16 / sizeof(T)>(raw, alpha, m3, eps, inv_t, n, out);                                     \
  }                                                                                                                 \
  void series_backward_base(const T* raw, const T* g, const T* alpha, int64_t m3, double eps, double inv_t,          \
                            int64_t n, T* dt, double* grad_alpha) {                                                 \
    series_backward_impl<T, 16 / sizeof(T)>(raw, g, alpha, m3, eps, inv_t, n, dt, grad_alpha);                      \
  }                                                                                                                 \
  void normalize_rows_base(const T* x, int64_t rows, int64_t d, double min_norm, T* y, T* norm) {                   \
    normalize_rows_impl<T, 16 / sizeof(T)>(x, rows, d, min_norm, y, norm);                                          \
  }                                                                                                                 \
  void normalize_rows_backward_base(const T* y, const T* norm, const T* dy, int64_t rows, int64_t d,                \
                                    double min_norm, T* dx) {                                                       \
    normalize_rows_backward_impl<T, 16 / sizeof(T)>(y, norm, dy, rows, d, min_norm, dx);                            \
  }                                                                                                                 \
  void row_norms_base(const T* x, int64_t rows, int64_t d, T* norm) {                                              \
    row_norms_impl<T, 16 / sizeof(T)>(x, rows, d, norm);                                                            \
  }                                                                                                                 \
  void scaled_rows_backward_base(const T* x, const T* norm, const T* dy, const T* proj, int64_t rows, int64_t d,    \
                                 double min_norm, T* dx) {                                                          \
    scaled_rows_backward_impl<T, 16 / sizeof(T)>(x, norm, dy, proj, rows, d, min_norm, dx);                         \
  }

std::atomic<bool> g_allow_wide{true};

#if RKHS_HAVE_AVX2_VARIANTS
#define RKHS_KCL_AVX2_VARIANTS(T)                                                                                    \
  RKHS_AVX2 void series_forward_avx2(const T* raw, const T* alpha, int64_t m3, double eps, double inv_t, int64_t n, \
                                     T* out) {                                                                      \
    series_forward_impl<T, 32 / sizeof(T)>(raw, alpha, m3, eps, inv_t, n, out);                                     \
  }                                                                                                                 \
  RKHS_AVX2 void series_backward_avx2(const T* raw, const T* g, const T* alpha, int64_t m3, double eps,             \
                                      double inv_t, int64_t n, T* dt, double* grad_alpha) {                         \
    series_backward_impl<T, 32 / sizeof(T)>(raw, g, alpha, m3, eps, inv_t, n, dt, grad_alpha);                      \
  }                                                                                                                 \
  RKHS_AVX2 void normalize_rows_avx2(const T* x, int64_t rows, int64_t d, double min_norm, T* y, T* norm) {         \
    normalize_rows_impl<T, 32 / sizeof(T)>(x, rows, d, min_norm, y, norm);                                          \
  }                                                                                                                 \
  RKHS_AVX2 void normalize_rows_backward_avx2(const T* y, const T* norm, const T* dy, int64_t rows, int64_t d,      \
                                              double min_norm, T* dx) {                                             \
    normalize_rows_backward_impl<T, 32 / sizeof(T)>(y, norm, dy, rows, d, min_norm, dx);                            \
  }                                                                                                                 \
  RKHS_AVX2 void row_norms_avx2(const T* x, int64_t rows, int64_t d, T* norm) {                                     \
    row_norms_impl<T, 32 / sizeof(T)>(x, rows, d, norm);                                                            \
  }                                                                                                                 \
  RKHS_AVX2 void scaled_rows_backward_avx2(const T* x, const T* norm, const T* dy, const T* proj, int64_t rows,     \
                                           int64_t d, double min_norm, T* dx) {                                     \
    scaled_rows_backward_impl<T, 32 / sizeof(T)>(x, norm, dy, proj, rows, d, min_norm, dx);                         \
  }

RKHS_KCL_AVX2_VARIANTS(float)
RKHS_KCL_AVX2_VARIANTS(double)
#endif

bool use_avx2() { return g_allow_wide.load(std::memory_order_relaxed) && simd::cpu_has_avx2(); }

RKHS_KCL_VARIANTS(float)
RKHS_KCL_VARIANTS(double)

}  // namespace

#if RKHS_HAVE_AVX2_VARIANTS
#define RKHS_KCL_CALL(name, ...) (use_avx2() ? name##_avx2(__VA_ARGS__) : name##_base(__VA_ARGS__))
#else
#define RKHS_KCL_CALL(name, ...) name##_base(__VA_ARGS__)
#endif

#define RKHS_KCL_DISPATCH(T)                                                                                         \
  void series_forward(const T* raw, const T* alpha, int64_t m3, double eps, double inv_t, int64_t n, T* out) {      \
    RKHS_KCL_CALL(series_forward, raw, alpha, m3, eps, inv_t, n, out);                                              \
  }                                                                                                                 \
  void series_backward(const T* raw, const T* g, const T* alpha, int64_t m3, double eps, double inv_t, int64_t n,   \
                       T* dt, double* grad_alpha) {                                                                 \
    RKHS_KCL_CALL(series_backward, raw, g, alpha, m3, eps, inv_t, n, dt, grad_alpha);                               \
  }                                                                                                                 \
  void normalize_rows(const T* x, int64_t rows, int64_t d, double min_norm, T* y, T* norm) {                        \
    RKHS_KCL_CALL(normalize_rows, x, rows, d, min_norm, y, norm);                                                   \
  }                                                                                                                 \
  void normalize_rows_backward(const T* y, const T* norm, const T* dy, int64_t rows, int64_t d, double min_norm,    \
                               T* dx) {                                                                             \
    RKHS_KCL_CALL(normalize_rows_backward, y, norm, dy, rows, d, min_norm, dx);                                     \
  }                                                                                                                 \
  void row_norms(const T* x, int64_t rows, int64_t d, T* norm) { RKHS_KCL_CALL(row_norms, x, rows, d, norm); }      \
  void scaled_rows_backward(const T* x, const T* norm, const T* dy, const T* proj, int64_t rows, int64_t d,         \
                            double min_norm, T* dx) {                                                               \
    RKHS_KCL_CALL(scaled_rows_backward, x, norm, dy, proj, rows, d, min_norm, dx);                                  \
  }

RKHS_KCL_DISPATCH(float)
RKHS_KCL_DISPATCH(double)

bool wide_vectors() { return use_avx2(); }

bool allow_wide_vectors(bool allow) { return g_allow_wide.exchange(allow); }

}  // namespace rkhs::classify::cpu
