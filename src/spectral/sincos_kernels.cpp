#include "sincos_kernels.h"

#include <cmath>
#include <cstdint>

#include "simd.h"

namespace rkhs::spectral::cpu {

namespace {

using simd::Simd;

// 32-bit integer lanes beside Simd<float, W>'s (the quadrant arithmetic).
template <int W>
struct IntLanes {
  typedef int32_t V __attribute__((vector_size(W * sizeof(int32_t))));
};

// Beyond this |x| the three-part reduction loses accuracy: such vectors are computed entry by entry.
constexpr float kReducedRange = 8192.0f;

// sin and cos of one vector x (|x| <= kReducedRange, or NaN).
template <int W>
RKHS_INLINE void sincos_vector(const typename Simd<float, W>::V& x, typename Simd<float, W>::V& sin_out,
                               typename Simd<float, W>::V& cos_out) {
  using S = Simd<float, W>;
  using V = typename S::V;
  using VI = typename IntLanes<W>::V;
  // j = round(x 2/pi) by the 1.5 * 2^23 trick (exact for |j| < 2^22); the low bits of t's mantissa hold j mod 4.
  const V magic = S::splat(12582912.0f);
  const V t = x * S::splat(0.636619772367581343f) + magic;
  const V j = t - magic;
  VI q;
  __builtin_memcpy(&q, &t, sizeof q);
  // r = x - j pi/2, pi/2 split into three parts whose products with j are exact (Cephes).
  V r = x - j * S::splat(1.5703125f);
  r = r - j * S::splat(4.837512969970703125e-4f);
  r = r - j * S::splat(7.54978995489188216e-8f);
  const V z = r * r;
  // Cephes sinf/cosf minimax polynomials on [-pi/4, pi/4].
  const V sr = r + r * z * (S::splat(-1.6666654611e-1f) + z * (S::splat(8.3321608736e-3f) + z * S::splat(-1.9515295891e-4f)));
  const V cr = S::splat(1.0f) - S::splat(0.5f) * z +
               z * z * (S::splat(4.166664568298827e-2f) + z * (S::splat(-1.388731625493765e-3f) + z * S::splat(2.443315711809948e-5f)));
  // x = j pi/2 + r: by quadrant j mod 4, sin x = sr, cr, -sr, -cr and cos x = cr, -sr, -cr, sr.
  const VI zero = {}, one = zero + 1, two = zero + 2;
  const VI swap = (q & one) != zero;
  const V s0 = swap ? cr : sr, c0 = swap ? sr : cr;
  sin_out = (q & two) != zero ? -s0 : s0;
  cos_out = ((q + one) & two) != zero ? -c0 : c0;
}

template <int W>
RKHS_INLINE void sincos_impl(const float* x, int64_t n, bool negate_sin, float* s, float* c) {
  using S = Simd<float, W>;
  using V = typename S::V;
  // One pass for the largest |x| (NaN compares false and takes the vector path, which returns NaN); a range that
  // reaches beyond kReducedRange (rare: an input or pre-activation in the thousands) goes entry by entry.
  V top = {};
  int64_t k = 0;
  for (; k + W <= n; k += W) {
    const V v = S::load(x + k);
    const V a = v < S::splat(0.0f) ? -v : v;
    top = a > top ? a : top;
  }
  bool wide = false;
  for (int i = 0; i < W; ++i) wide = wide || top[i] > kReducedRange;
  for (; k < n; ++k) wide = wide || std::fabs(x[k]) > kReducedRange;
  k = 0;
  if (!wide) {
    for (; k + W <= n; k += W) {
      V sv, cv;
      sincos_vector<W>(S::load(x + k), sv, cv);
      S::store(s + k, negate_sin ? -sv : sv);
      S::store(c + k, cv);
    }
  }
  for (; k < n; ++k) {
    s[k] = negate_sin ? -std::sin(x[k]) : std::sin(x[k]);
    c[k] = std::cos(x[k]);
  }
}

void sincos_base(const float* x, int64_t n, bool negate_sin, float* s, float* c) {
  sincos_impl<4>(x, n, negate_sin, s, c);
}

#if RKHS_HAVE_AVX2_VARIANTS
RKHS_AVX2 void sincos_avx2(const float* x, int64_t n, bool negate_sin, float* s, float* c) {
  sincos_impl<8>(x, n, negate_sin, s, c);
}
#endif

}  // namespace

void sincos(const float* x, int64_t n, bool negate_sin, float* s, float* c) {
  RKHS_SIMD_CALL(sincos, x, n, negate_sin, s, c);
}

}  // namespace rkhs::spectral::cpu
