// Internal: the CPU loop behind NeuralEF's sin/cos activation (the paper's 1-D networks), on raw float arrays.
// One range reduction gives both sin and cos, so the activation and its derivative cost one pass instead of the
// four transcendental passes of ATen's sin and cos. On x86-64 CPUs with AVX2 and FMA it runs with 256-bit vectors
// (chosen at run time), elsewhere with 128-bit vectors.
#pragma once

#include <cstdint>

namespace rkhs::spectral::cpu {

// For k in [0, n): sin(x[k]) into s[k] and cos(x[k]) into c[k], or, with negate_sin, -sin(x[k]) into s[k].
// Cody-Waite reduction by pi/2 and Cephes' minimax polynomials on [-pi/4, pi/4]: within 2e-7 of the true values
// for |x| <= 8192 (tests/spectral/test_sincos.cpp); larger |x| (and infinities) go through std::sin and std::cos,
// NaN stays NaN.
void sincos(const float* x, int64_t n, bool negate_sin, float* s, float* c);

}  // namespace rkhs::spectral::cpu
