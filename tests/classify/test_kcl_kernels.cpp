// The vectorised loops of the fused KCL (src/classify/kcl_kernels.cpp) against scalar float64 formulas (paper 000
// eq. 3-7), in float and double, with both vector widths, on lengths that leave a tail shorter than a vector.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "classify/kcl_kernels.h"
#include "rkhs/classify/kcl.h"

namespace cpu = rkhs::classify::cpu;

namespace {

constexpr double kEps = 1e-6;

// k(t) for t already clamped, alpha = (a_-2, a_-1, a_0 .. a_M).
double series(double t, const std::vector<double>& a) {
  const double top = t >= 1 - kEps ? 1 : 0, bottom = t <= -1 + kEps ? 1 : 0;
  double s = a[0] * (top + bottom) + a[1] * (top - bottom);
  for (size_t m = 2; m < a.size(); ++m) s += a[m] * std::pow(t, static_cast<double>(m - 2));
  return s;
}

double series_derivative(double t, const std::vector<double>& a) {
  double s = 0;
  for (size_t m = 3; m < a.size(); ++m) s += (m - 2) * a[m] * std::pow(t, static_cast<double>(m - 3));
  return s;
}

// Cosine-like inputs: mostly in (-1, 1), some exactly +-1, within eps of +-1, and beyond (clamped).
std::vector<double> inputs(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> x(static_cast<size_t>(n));
  const double special[] = {1.0, -1.0, 1 - kEps / 2, -1 + kEps / 2, 1.25, -1.5, 0.0};
  for (int64_t k = 0; k < n; ++k) x[k] = k % 5 == 3 ? special[(k / 5) % 7] : u(rng);
  return x;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// Runs f once with the AVX2 loops forbidden and once allowed (the same code when the CPU has no AVX2, which the
// test's output then says).
template <typename F>
void for_both_widths(F f) {
  const bool previous = cpu::allow_wide_vectors(false);
  f("baseline vectors");
  cpu::allow_wide_vectors(true);
  if (!cpu::wide_vectors()) std::fprintf(stderr, "note: no AVX2 + FMA on this CPU; only the baseline loops ran\n");
  f(cpu::wide_vectors() ? "AVX2 vectors" : "baseline vectors (no AVX2 on this CPU)");
  cpu::allow_wide_vectors(previous);
}

template <typename T>
void check_series(double tol) {
  std::mt19937 rng(11);
  const std::vector<double> alpha = {0.3, 0.2, 0.05, 0.9, 0.1, 0.4, 0.02, 0.3, 0.15, 0.07, 0.01, 0.2, 0.05};
  const int64_t m3 = static_cast<int64_t>(alpha.size());
  const double inv_t = 1.0 / 0.7;
  for_both_widths([&](const char* width) {
    // 20,011 entries pass the flush of the float sums into double (every 256 steps of 4 vectors).
    for (int64_t n : {1, 3, 4, 7, 8, 9, 17, 37, 1030, 20011}) {
      SCOPED_TRACE(std::string(width) + ", n = " + std::to_string(n));
      const auto raw = inputs(n, rng);
      std::vector<double> g(raw.size());
      std::normal_distribution<double> nd;
      for (auto& v : g) v = nd(rng);
      const auto raw_t = cast<T>(raw), g_t = cast<T>(g), alpha_t = cast<T>(alpha);

      std::vector<T> out(raw.size());
      cpu::series_forward(raw_t.data(), alpha_t.data(), m3, kEps, inv_t, n, out.data());
      std::vector<T> dt(raw.size());
      std::vector<double> grad_alpha(alpha.size(), 1.0);  // added into: starts at 1
      cpu::series_backward(raw_t.data(), g_t.data(), alpha_t.data(), m3, kEps, inv_t, n, dt.data(),
                           grad_alpha.data());

      std::vector<double> ref_grad(alpha.size(), 1.0);
      double gsum = 0;
      for (int64_t k = 0; k < n; ++k) {
        const double r = static_cast<double>(raw_t[k]), t = std::max(-1.0, std::min(1.0, r));
        const double gk = static_cast<double>(g_t[k]);
        gsum += std::abs(gk);
        const double value = series(t, alpha) * inv_t;
        EXPECT_NEAR(out[k], value, tol * (1 + std::abs(value))) << "forward, entry " << k;
        const double d = std::abs(r) <= 1 ? gk * series_derivative(t, alpha) * inv_t : 0.0;
        EXPECT_NEAR(dt[k], d, tol * (1 + std::abs(d))) << "dt, entry " << k;
        const double top = t >= 1 - kEps ? 1 : 0, bottom = t <= -1 + kEps ? 1 : 0;
        ref_grad[0] += gk * (top + bottom) * inv_t;
        ref_grad[1] += gk * (top - bottom) * inv_t;
        for (int64_t m = 2; m < m3; ++m) ref_grad[m] += gk * std::pow(t, static_cast<double>(m - 2)) * inv_t;
      }
      // The sums relative to the sum of |g| / T: tol per term, not tol times the number of terms.
      for (int64_t m = 0; m < m3; ++m)
        EXPECT_NEAR(grad_alpha[m], ref_grad[m], tol * (1 + gsum * inv_t) / std::sqrt(double(n)))
            << "d alpha[" << m << "]";
    }
  });
}

template <typename T>
void check_normalize(double tol) {
  std::mt19937 rng(12);
  std::normal_distribution<double> nd;
  for_both_widths([&](const char* width) {
    for (int64_t d : {1, 3, 5, 8, 13, 64}) {
      SCOPED_TRACE(std::string(width) + ", d = " + std::to_string(d));
      const int64_t rows = 3;
      std::vector<double> x(static_cast<size_t>(rows * d)), dy(x.size());
      for (auto& v : x) v = nd(rng);
      for (auto& v : dy) v = nd(rng);
      for (int64_t k = 0; k < d; ++k) x[2 * d + k] = 0;  // a zero row: y = 0, and the divisor is 1e-12
      const auto x_t = cast<T>(x), dy_t = cast<T>(dy);
      std::vector<T> y(x.size()), norm(rows), dx(x.size());
      cpu::normalize_rows(x_t.data(), rows, d, 1e-12, y.data(), norm.data());
      cpu::normalize_rows_backward(y.data(), norm.data(), dy_t.data(), rows, d, 1e-12, dx.data());
      // The same backward from x and a given proj_i = y_i . dy_i (the fused KCL's path), and the norms alone.
      std::vector<T> norm2(rows), proj_t(rows), dx2(x.size());
      cpu::row_norms(x_t.data(), rows, d, norm2.data());
      for (int64_t i = 0; i < rows; ++i) {
        double p = 0;
        for (int64_t k = 0; k < d; ++k) p += static_cast<double>(y[i * d + k]) * dy_t[i * d + k];
        proj_t[i] = static_cast<T>(p);
      }
      cpu::scaled_rows_backward(x_t.data(), norm2.data(), dy_t.data(), proj_t.data(), rows, d, 1e-12, dx2.data());
      for (int64_t i = 0; i < rows; ++i) {
        EXPECT_NEAR(norm2[i], norm[i], tol * (1 + norm[i])) << "row_norms, row " << i;
        // Relative to the terms (dy and y proj, over the norm): the two orders of the float sums cancel differently.
        const double scale = std::min(1 / std::max(double(norm[i]), 1e-12), 1e6);
        for (int64_t k = 0; k < d; ++k)
          EXPECT_NEAR(dx2[i * d + k], dx[i * d + k], 4 * tol * (1 + std::abs(double(dy_t[i * d + k]))) * scale)
              << "scaled, row " << i;
      }
      for (int64_t i = 0; i < rows; ++i) {
        double nrm = 0, proj = 0;
        for (int64_t k = 0; k < d; ++k) nrm += static_cast<double>(x_t[i * d + k]) * x_t[i * d + k];
        nrm = std::sqrt(nrm);
        EXPECT_NEAR(norm[i], nrm, tol * (1 + nrm)) << "row " << i;
        const double c = std::max(nrm, 1e-12);
        for (int64_t k = 0; k < d; ++k) proj += x_t[i * d + k] / c * static_cast<double>(dy_t[i * d + k]);
        if (nrm < 1e-12) proj = 0;
        for (int64_t k = 0; k < d; ++k) {
          const double yk = x_t[i * d + k] / c;
          EXPECT_NEAR(y[i * d + k], yk, tol) << "y, row " << i;
          const double dxk = (dy_t[i * d + k] - yk * proj) / c;
          EXPECT_NEAR(dx[i * d + k], dxk, tol * (1 + std::abs(dxk))) << "dx, row " << i;
        }
      }
    }
  });
}

}  // namespace

TEST(KclKernels, SeriesForwardAndBackwardMatchTheFormulasInDouble) { check_series<double>(1e-12); }
TEST(KclKernels, SeriesForwardAndBackwardMatchTheFormulasInFloat) { check_series<float>(2e-5); }
TEST(KclKernels, RowNormalisationAndItsBackwardInDouble) { check_normalize<double>(1e-12); }
TEST(KclKernels, RowNormalisationAndItsBackwardInFloat) { check_normalize<float>(2e-6); }

TEST(KclKernels, NaNCosinesStayNaN) {
  const std::vector<float> raw = {0.5f, std::numeric_limits<float>::quiet_NaN(), 0.1f};
  const std::vector<float> alpha = {0.1f, 0.1f, 0.5f, 1.0f, 0.25f}, g = {1.0f, 1.0f, 1.0f};
  std::vector<float> out(3), dt(3);
  for_both_widths([&](const char* width) {
    cpu::series_forward(raw.data(), alpha.data(), 5, kEps, 1.0, 3, out.data());
    EXPECT_TRUE(std::isnan(out[1])) << width;
    EXPECT_TRUE(std::isfinite(out[0]) && std::isfinite(out[2])) << width;
    // Backward: clamp's mask passes nothing for NaN (dt = 0, as torch), the power sums see the NaN.
    std::vector<double> grad_alpha(5, 0.0);
    cpu::series_backward(raw.data(), g.data(), alpha.data(), 5, kEps, 1.0, 3, dt.data(), grad_alpha.data());
    EXPECT_EQ(dt[1], 0.0f) << width;
    EXPECT_TRUE(std::isfinite(dt[0]) && std::isfinite(dt[2])) << width;
    EXPECT_TRUE(std::isnan(grad_alpha[3])) << width;
  });
}

// The fused float32 layer end to end against the ATen composition (the float64 comparison is in test_heads.cpp).
TEST(KclKernels, FusedLayerInFloatMatchesTheReference) {
  torch::manual_seed(7);
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).requires_grad(true);
  auto z = torch::randn({33, 19}, opts), w = torch::randn({21, 19}, opts);
  auto alpha = (torch::rand({13}) + 0.1).requires_grad_(true);
  auto weights = torch::randn({33, 21});
  for_both_widths([&](const char* width) {
    auto fused = rkhs::classify::kcl_logits(z, w, alpha, kEps, 0.5);
    auto ref = rkhs::classify::kcl_logits_reference(z, w, alpha, kEps, 0.5);
    EXPECT_LT((fused - ref).abs().max().item<double>(), 1e-4 * (1 + ref.abs().max().item<double>())) << width;
    auto gf = torch::autograd::grad({(fused * weights).sum()}, {z, w, alpha});
    auto gr = torch::autograd::grad({(ref * weights).sum()}, {z, w, alpha});
    for (size_t i = 0; i < 3; ++i)
      EXPECT_LT((gf[i] - gr[i]).abs().max().item<double>(), 1e-4 * (1 + gr[i].abs().max().item<double>()))
          << width << ", input " << i;
  });
}
