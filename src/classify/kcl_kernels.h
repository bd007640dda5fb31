// The CPU loops of the fused kernelized classification layer (kcl_fused.cpp), on raw arrays: the series k(t) of
// paper 000 eq. 5-7 forward and backward, and the row normalisation of eq. 3-4. Each has a float and a double
// overload; on x86-64 CPUs with AVX2 and FMA the same code runs with 256-bit vectors (chosen at run time), elsewhere
// with 128-bit vectors. Ranges are contiguous; the caller splits them across threads.
#pragma once

#include <cstdint>

namespace rkhs::classify::cpu {

// out[k] = k(t_k) * inv_t for k in [0, n), t_k = clamp(raw[k], -1, 1), alpha = (a_-2, a_-1, a_0 .. a_M) of length
// m3 = M + 3: k(t) = a_-2 ([t >= 1 - eps] + [t <= -1 + eps]) + a_-1 ([t >= 1 - eps] - [t <= -1 + eps]) +
// sum_m a_m t^m (Horner).
void series_forward(const float* raw, const float* alpha, int64_t m3, double eps, double inv_t, int64_t n,
                    float* out);
void series_forward(const double* raw, const double* alpha, int64_t m3, double eps, double inv_t, int64_t n,
                    double* out);

// For g = dL/dlogits over n entries: dt[k] = g_k k'(t_k) inv_t where |raw[k]| <= 1 (the clamp's backward passes
// nothing outside), else 0; and the coefficient gradients sum_k g_k basis_m(t_k) inv_t (basis: the two indicator
// terms, then t^0 .. t^M) added into grad_alpha[0 .. m3).
void series_backward(const float* raw, const float* g, const float* alpha, int64_t m3, double eps, double inv_t,
                     int64_t n, float* dt, double* grad_alpha);
void series_backward(const double* raw, const double* g, const double* alpha, int64_t m3, double eps, double inv_t,
                     int64_t n, double* dt, double* grad_alpha);

// Rows [0, rows) of x (rows, d): norm[i] = |x_i|, y_i = x_i / max(|x_i|, min_norm).
void normalize_rows(const float* x, int64_t rows, int64_t d, double min_norm, float* y, float* norm);
void normalize_rows(const double* x, int64_t rows, int64_t d, double min_norm, double* y, double* norm);

// The backward of normalize_rows: dx_i = (dy_i - [|x_i| >= min_norm] y_i (y_i . dy_i)) / max(|x_i|, min_norm) (below
// the clamp the divisor is a constant, as clamp_min's backward passes nothing there).
void normalize_rows_backward(const float* y, const float* norm, const float* dy, int64_t rows, int64_t d,
                             double min_norm, float* dx);
void normalize_rows_backward(const double* y, const double* norm, const double* dy, int64_t rows, int64_t d,
                             double min_norm, double* dx);

// norm[i] = |x_i| for rows [0, rows) of x (rows, d).
void row_norms(const float* x, int64_t rows, int64_t d, float* norm);
void row_norms(const double* x, int64_t rows, int64_t d, double* norm);

// normalize_rows_backward without y: with y_i = x_i / max(|x_i|, min_norm) and proj_i = y_i . dy_i given (the fused
// KCL computes it from the (B, C) logits instead of a pass over d), dx_i = (dy_i - [|x_i| >= min_norm] y_i proj_i) /
// max(|x_i|, min_norm).
void scaled_rows_backward(const float* x, const float* norm, const float* dy, const float* proj, int64_t rows,
                          int64_t d, double min_norm, float* dx);
void scaled_rows_backward(const double* x, const double* norm, const double* dy, const double* proj, int64_t rows,
                          int64_t d, double min_norm, double* dx);

// Whether the loops run with 256-bit AVX2 + FMA vectors (the CPU has them and they are allowed).
bool wide_vectors();
// Allows (true, the default) or forbids the AVX2 loops, so that tests can check both on one machine; returns the
// previous setting.
bool allow_wide_vectors(bool allow);

}  // namespace rkhs::classify::cpu
