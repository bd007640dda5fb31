#include "mlp_kernels.h"

#include "simd.h"

namespace rkhs::spectral::cpu {

namespace {

using simd::Simd;

// sum_j p[j] q[j] (q = nullptr: sum_j p[j]) over n entries, in W-wide float lanes.
template <int W>
RKHS_INLINE float dot(const float* p, const float* q, int64_t n) {
  using S = Simd<float, W>;
  typename S::V acc = {};
  int64_t j = 0;
  for (; j + W <= n; j += W) acc += q ? S::load(p + j) * S::load(q + j) : S::load(p + j);
  float s = S::sum(acc);
  for (; j < n; ++j) s += q ? p[j] * q[j] : p[j];
  return s;
}

// The loops over the batch below vectorise with the target's width (the _avx2 variants: 8 floats).

template <int W>
RKHS_INLINE void one_input_forward_impl(const float* x, const float* w, const float* b, int64_t rows, int64_t batch,
                                        float* h) {
  for (int64_t r = 0; r < rows; ++r) {
    const float wr = w[r], br = b[r];
    float* hr = h + r * batch;
    for (int64_t j = 0; j < batch; ++j) hr[j] = wr * x[j] + br;
  }
}

template <int W>
RKHS_INLINE void one_input_backward_impl(const float* x, const float* g, int64_t rows, int64_t batch, float* dw,
                                         float* db) {
  for (int64_t r = 0; r < rows; ++r) {
    dw[r] = dot<W>(g + r * batch, x, batch);
    db[r] = dot<W>(g + r * batch, nullptr, batch);
  }
}

template <int W>
RKHS_INLINE void one_output_forward_impl(const float* a, const float* w, const float* b, int64_t nets, int64_t in,
                                         int64_t batch, float* y) {
  for (int64_t n = 0; n < nets; ++n) {
    float* yn = y + n * batch;
    for (int64_t j = 0; j < batch; ++j) yn[j] = b[n];
    for (int64_t i = 0; i < in; ++i) {
      const float wi = w[n * in + i];
      const float* ai = a + (n * in + i) * batch;
      for (int64_t j = 0; j < batch; ++j) yn[j] += wi * ai[j];
    }
  }
}

template <int W>
RKHS_INLINE void one_output_backward_impl(const float* a, const float* w, const float* g, const float* d, int64_t nets,
                                          int64_t in, int64_t batch, float* dw, float* db, float* ga) {
  for (int64_t n = 0; n < nets; ++n) {
    const float* gn = g + n * batch;
    db[n] = dot<W>(gn, nullptr, batch);
    for (int64_t i = 0; i < in; ++i) {
      const int64_t r = n * in + i;
      dw[r] = dot<W>(a + r * batch, gn, batch);
      const float wi = w[r];
      const float* di = d + r * batch;
      float* gai = ga + r * batch;
      for (int64_t j = 0; j < batch; ++j) gai[j] = wi * gn[j] * di[j];
    }
  }
}

#define RKHS_MLP_VARIANTS(SUFFIX, W, ATTR)                                                                           \
  ATTR void one_input_forward_##SUFFIX(const float* x, const float* w, const float* b, int64_t rows, int64_t batch, \
                                       float* h) {                                                                  \
    one_input_forward_impl<W>(x, w, b, rows, batch, h);                                                             \
  }                                                                                                                 \
  ATTR void one_input_backward_##SUFFIX(const float* x, const float* g, int64_t rows, int64_t batch, float* dw,     \
                                        float* db) {                                                                \
    one_input_backward_impl<W>(x, g, rows, batch, dw, db);                                                          \
  }                                                                                                                 \
  ATTR void one_output_forward_##SUFFIX(const float* a, const float* w, const float* b, int64_t nets, int64_t in,   \
                                        int64_t batch, float* y) {                                                  \
    one_output_forward_impl<W>(a, w, b, nets, in, batch, y);                                                        \
  }                                                                                                                 \
  ATTR void one_output_backward_##SUFFIX(const float* a, const float* w, const float* g, const float* d,             \
                                         int64_t nets, int64_t in, int64_t batch, float* dw, float* db, float* ga) { \
    one_output_backward_impl<W>(a, w, g, d, nets, in, batch, dw, db, ga);                                          \
  }

RKHS_MLP_VARIANTS(base, 4, )
#if RKHS_HAVE_AVX2_VARIANTS
RKHS_MLP_VARIANTS(avx2, 8, RKHS_AVX2)
#endif

}  // namespace

void one_input_forward(const float* x, const float* w, const float* b, int64_t nets, int64_t out, int64_t batch,
                       float* h) {
  RKHS_SIMD_CALL(one_input_forward, x, w, b, nets * out, batch, h);
}

void one_input_backward(const float* x, const float* g, int64_t nets, int64_t out, int64_t batch, float* dw, float* db) {
  RKHS_SIMD_CALL(one_input_backward, x, g, nets * out, batch, dw, db);
}

void one_output_forward(const float* a, const float* w, const float* b, int64_t nets, int64_t in, int64_t batch,
                        float* y) {
  RKHS_SIMD_CALL(one_output_forward, a, w, b, nets, in, batch, y);
}

void one_output_backward(const float* a, const float* w, const float* g, const float* d, int64_t nets, int64_t in,
                         int64_t batch, float* dw, float* db, float* ga) {
  RKHS_SIMD_CALL(one_output_backward, a, w, g, d, nets, in, batch, dw, db, ga);
}

}  // namespace rkhs::spectral::cpu
