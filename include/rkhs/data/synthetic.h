#pragma once
// Synthetic data sets, each a deterministic function of its seed (std::mt19937_64; the global torch seed is
// never used). Formulas: docs/DATA.md.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

#include "rkhs/data/dataset.h"

namespace rkhs::data {

// The S^2 mixture of paper 000, appendix B. Class c in {0, 1} has 10 centres c_k ~ N(mu_c, 0.5 I_3),
// mu_0 = (1,0,0), mu_1 = (0,1,0). A point of class c: pick k uniformly, x ~ N(c_k, variance I_3), u = x/|x|.
// Train and test sets are two sample() calls with different seeds on the same draw.
struct SphereMixture {
  at::Tensor centers;        // (2, 10, 3) float64
  double variance = 0.02;    // sigma^2 of each component before projection

  static constexpr int64_t kClasses = 2;
  static constexpr int64_t kCentersPerClass = 10;
  static constexpr double kCenterVariance = 0.5;

  // Draws the 20 centres from the seed.
  static SphereMixture draw(uint64_t seed);

  // per_class points of each class: x (2*per_class, 3) float32 of unit norm, y int64, shuffled; name "sphere".
  Dataset sample(int64_t per_class, uint64_t seed) const;

  // log p_c(u) for rows u (n, 3) of unit norm: p_c = (1/10) sum_k q(u; c_k, variance), q the projected-normal
  // density w.r.t. the surface measure of S^2. Returns (n,) float64.
  at::Tensor log_density(const at::Tensor& u, int cls) const;

  // argmax_c p_c(u) (equal priors): (n,) int64.
  at::Tensor bayes_predict(const at::Tensor& u) const;

  // Accuracy of the Bayes classifier under the model, int_{S^2} (1/2) max(p_0, p_1) dsigma, by a product
  // quadrature with n_theta Gauss-Legendre nodes in cos(theta) and 2*n_theta uniform nodes in phi.
  double bayes_accuracy(int64_t n_theta = 400) const;
};

// log q(u; c, variance): the density on S^2 (w.r.t. surface measure) of x/|x| for x ~ N(c, variance I_3).
// u (n, 3) unit rows, c (k, 3): returns (n, k) float64. Closed form, with t = u.c, s^2 = variance, a = t/s:
//   q = (1/2pi) exp(-(|c|^2 - t^2)/(2 s^2)) [ (a^2+1) Phi(a) + a phi(a) ],
// evaluated in log space (a scaled complementary error function for a < 0).
at::Tensor projected_normal_log_density(const at::Tensor& u, const at::Tensor& c, double variance);

// Gauss-Legendre nodes and weights on [-1, 1] (n,) float64 each.
std::pair<at::Tensor, at::Tensor> gauss_legendre(int64_t n);

// Product quadrature on S^2: points (n_theta * n_phi, 3) and weights summing to 4*pi, both float64.
// n_theta Gauss-Legendre nodes in cos(theta), n_phi uniform nodes in phi (exact for trigonometric polynomials).
std::pair<at::Tensor, at::Tensor> sphere_quadrature(int64_t n_theta, int64_t n_phi);

// Two interleaving half circles like sklearn's make_moons: n/2 (rounded down) points of class 0 on
// (cos s, sin s), the rest of class 1 on (1 - cos s, 1/2 - sin s), s evenly spaced in [0, pi], plus
// N(0, noise^2 I_2); shuffled. x (n, 2) float32, 2 classes, name "moons".
Dataset make_moons(int64_t n, double noise = 0.1, uint64_t seed = 0);

// Two concentric circles like sklearn's make_circles: n/2 points of class 0 on the unit circle, the rest of
// class 1 on the circle of radius factor, angles evenly spaced in [0, 2pi), plus N(0, noise^2 I_2); shuffled.
// x (n, 2) float32, 2 classes, name "circles".
Dataset make_circles(int64_t n, double noise = 0.05, double factor = 0.5, uint64_t seed = 0);

// n points uniform on [a, b]: x (n, 1) float32, y all 0, num_classes 1, name "uniform".
Dataset make_uniform(int64_t n, double a, double b, uint64_t seed = 0);

}  // namespace rkhs::data
