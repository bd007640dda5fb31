// Internal: what the hand-vectorised CPU loops share (classify/kcl_kernels.cpp, spectral/sincos_kernels.cpp):
// a vector type over GCC/Clang vector extensions, compiled once for the baseline ISA (16-byte vectors) and, on
// x86-64, once more inside functions marked RKHS_AVX2 (32-byte vectors), and the run-time check between the two.
#pragma once

#include <cstdlib>
#include <cstring>

// The vector types are only passed between always-inlined functions of one target; GCC's note that their ABI
// differs between targets does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

#define RKHS_INLINE inline __attribute__((always_inline))

namespace rkhs::simd {

template <typename T, int W>
struct Simd {
  typedef T V __attribute__((vector_size(W * sizeof(T))));
  static constexpr int kWidth = W;
  static RKHS_INLINE V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static RKHS_INLINE void store(T* p, const V& v) { std::memcpy(p, &v, sizeof v); }
  static RKHS_INLINE V splat(T s) { return V{} + s; }
  static RKHS_INLINE T sum(const V& v) {
    T s = 0;
    for (int j = 0; j < W; ++j) s += v[j];
    return s;
  }
};

// ATen's own switch: ATEN_CPU_CAPABILITY=default keeps its kernels on the baseline ISA, and these loops too.
inline bool aten_allows_wide() {
  const char* cap = std::getenv("ATEN_CPU_CAPABILITY");
  return cap == nullptr || std::strcmp(cap, "default") != 0;
}

}  // namespace rkhs::simd

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RKHS_HAVE_AVX2_VARIANTS 1
#define RKHS_AVX2 __attribute__((target("avx2,fma")))
namespace rkhs::simd {
// The CPU has AVX2 and FMA and ATen's switch allows them (checked once).
inline bool cpu_has_avx2() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && aten_allows_wide();
  }();
  return yes;
}
}  // namespace rkhs::simd
#else
#define RKHS_HAVE_AVX2_VARIANTS 0
namespace rkhs::simd {
inline bool cpu_has_avx2() { return false; }
}  // namespace rkhs::simd
#endif

// Calls name_avx2(...) where the CPU has AVX2 + FMA, else name_base(...): the dispatch of a loop compiled twice.
#if RKHS_HAVE_AVX2_VARIANTS
#define RKHS_SIMD_CALL(name, ...) (rkhs::simd::cpu_has_avx2() ? name##_avx2(__VA_ARGS__) : name##_base(__VA_ARGS__))
#else
#define RKHS_SIMD_CALL(name, ...) name##_base(__VA_ARGS__)
#endif
