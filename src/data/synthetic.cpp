// Synthetic data: the S^2 mixture of paper 000 (appendix B) with its exact Bayes rate, moons, circles, uniform.
#include "rkhs/data/synthetic.h"

#include <torch/torch.h>

#include <cmath>
#include <random>

#include "random.h"
#include "rkhs/error.h"

namespace rkhs::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

using detail::permutation;

// Builds a dataset from row-major float64 features and labels, shuffled by rng.
Dataset shuffled_dataset(const std::vector<double>& feats, const std::vector<int64_t>& labels, int64_t dim,
                         int64_t num_classes, const std::string& name, std::mt19937_64& rng) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const std::vector<int64_t> p = permutation(n, rng);
  Dataset d;
  d.x = torch::empty({n, dim}, torch::kFloat);
  d.y = torch::empty({n}, torch::kLong);
  float* px = d.x.data_ptr<float>();
  int64_t* py = d.y.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < dim; ++j) px[i * dim + j] = static_cast<float>(feats[p[i] * dim + j]);
    py[i] = labels[p[i]];
  }
  d.num_classes = num_classes;
  d.name = name;
  return d;
}

// h(x) = int_0^inf w^2 exp(-x w - w^2/2) dw = (x^2+1) m(x) - x for x >= 0, m the Mills ratio
// (1 - Phi(x))/phi(x) = sqrt(pi/2) exp(x^2/2) erfc(x/sqrt 2). Above x = 10 the difference loses digits, so the
// asymptotic series h(x) ~ sum_{n>=1} (-1)^{n+1} 2n (2n-1)!! / x^{2n+1} (30 terms, relative error ~1e-13) is
// used instead.
struct MillsH {
  static constexpr double kSwitch = 10.0;
  static constexpr int kTerms = 30;
  double coef[kTerms];
  MillsH() {
    double dfact = 1.0;
    for (int n = 1; n <= kTerms; ++n) {
      dfact *= (2 * n - 1);
      coef[n - 1] = ((n % 2) ? 1.0 : -1.0) * 2.0 * n * dfact;
    }
  }
  double operator()(double x) const {
    if (x < kSwitch) {
      const double m = std::sqrt(kPi / 2) * std::exp(0.5 * x * x) * std::erfc(x / std::sqrt(2.0));
      return (x * x + 1) * m - x;
    }
    const double y = 1.0 / (x * x);
    double s = coef[kTerms - 1];
    for (int n = kTerms - 2; n >= 0; --n) s = s * y + coef[n];
    return s / (x * x * x);
  }
};

// log q for t = u.c, cc = |c|^2 (see projected_normal_log_density).
double log_q(double t, double cc, double var, const MillsH& h) {
  static const double log2pi = std::log(2 * kPi);
  const double a = t / std::sqrt(var);
  if (a >= 0) {
    // log q = -log 2pi - (|c|^2 - t^2)/(2 s^2) + log[(a^2+1) Phi(a) + a phi(a)]
    const double Phi = 0.5 * std::erfc(-a / std::sqrt(2.0));
    const double phi = std::exp(-0.5 * a * a) / std::sqrt(2 * kPi);
    return -log2pi - (cc - t * t) / (2 * var) + std::log((a * a + 1) * Phi + a * phi);
  }
  // a < 0: the bracket is phi(a) h(-a) and the a^2/2 terms cancel.
  return -1.5 * log2pi - cc / (2 * var) + std::log(h(-a));
}

}  // namespace

at::Tensor projected_normal_log_density(const at::Tensor& u_in, const at::Tensor& c_in, double variance) {
  RKHS_CHECK(variance > 0, "projected_normal_log_density: variance must be > 0");
  RKHS_CHECK(u_in.dim() == 2 && u_in.size(1) == 3, "projected_normal_log_density: u must be (n, 3)");
  RKHS_CHECK(c_in.dim() == 2 && c_in.size(1) == 3, "projected_normal_log_density: c must be (k, 3)");
  const at::Tensor u = u_in.to(torch::kDouble);
  const at::Tensor c = c_in.to(u.device(), torch::kDouble);
  const at::Tensor uc = u.to(torch::kCPU).contiguous();
  const at::Tensor ccpu = c.to(torch::kCPU).contiguous();
  const int64_t n = uc.size(0), k = ccpu.size(0);
  at::Tensor out = torch::empty({n, k}, torch::kDouble);
  const double* pu = uc.data_ptr<double>();
  const double* pc = ccpu.data_ptr<double>();
  double* po = out.data_ptr<double>();
  std::vector<double> cc(k);
  for (int64_t j = 0; j < k; ++j) cc[j] = pc[3 * j] * pc[3 * j] + pc[3 * j + 1] * pc[3 * j + 1] + pc[3 * j + 2] * pc[3 * j + 2];
  static const MillsH h;
  at::parallel_for(0, n, 2048, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t j = 0; j < k; ++j) {
        const double t = pu[3 * i] * pc[3 * j] + pu[3 * i + 1] * pc[3 * j + 1] + pu[3 * i + 2] * pc[3 * j + 2];
        po[i * k + j] = log_q(t, cc[j], variance, h);
      }
  });
  return out.to(u.device());
}

std::pair<at::Tensor, at::Tensor> gauss_legendre(int64_t n) {
  RKHS_CHECK(n >= 1, "gauss_legendre: n must be >= 1");
  at::Tensor x = torch::empty({n}, torch::kDouble), w = torch::empty({n}, torch::kDouble);
  double* px = x.data_ptr<double>();
  double* pw = w.data_ptr<double>();
  for (int64_t i = 0; i < (n + 1) / 2; ++i) {
    double z = std::cos(kPi * (i + 0.75) / (n + 0.5));
    double dp = 0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = z;  // P_0, P_1
      for (int64_t k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      if (n == 1) p0 = 1;
      dp = n * (z * p1 - p0) / (z * z - 1);  // P_n'(z)
      const double dz = p1 / dp;
      z -= dz;
      if (std::fabs(dz) < 1e-15) break;
    }
    {
      double p0 = 1, p1 = z;
      for (int64_t k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (z * p1 - p0) / (z * z - 1);
    }
    const double wi = 2.0 / ((1 - z * z) * dp * dp);
    px[i] = -z;
    px[n - 1 - i] = z;
    pw[i] = pw[n - 1 - i] = wi;
  }
  if (n % 2 == 1) px[n / 2] = 0.0;
  return {x, w};
}

std::pair<at::Tensor, at::Tensor> sphere_quadrature(int64_t n_theta, int64_t n_phi) {
  RKHS_CHECK(n_theta >= 1 && n_phi >= 1, "sphere_quadrature: node counts must be >= 1");
  auto [z, wz] = gauss_legendre(n_theta);
  const at::Tensor ph = torch::arange(n_phi, torch::kDouble) * (2 * kPi / n_phi);
  const at::Tensor r = torch::sqrt((1 - z * z).clamp_min(0)).unsqueeze(1);  // (nt, 1)
  const at::Tensor px = r * torch::cos(ph).unsqueeze(0);
  const at::Tensor py = r * torch::sin(ph).unsqueeze(0);
  const at::Tensor pz = z.unsqueeze(1).expand({n_theta, n_phi});
  const at::Tensor pts = torch::stack({px, py, pz}, 2).reshape({n_theta * n_phi, 3});
  const at::Tensor w = (wz.unsqueeze(1) * (2 * kPi / n_phi)).expand({n_theta, n_phi}).reshape({-1});
  return {pts.contiguous(), w.contiguous()};
}

SphereMixture SphereMixture::draw(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  SphereMixture m;
  m.centers = torch::empty({kClasses, kCentersPerClass, 3}, torch::kDouble);
  auto acc = m.centers.accessor<double, 3>();
  const double sd = std::sqrt(kCenterVariance);
  for (int64_t c = 0; c < kClasses; ++c)
    for (int64_t k = 0; k < kCentersPerClass; ++k)
      for (int64_t j = 0; j < 3; ++j) acc[c][k][j] = (j == c ? 1.0 : 0.0) + sd * normal(rng);
  return m;
}

Dataset SphereMixture::sample(int64_t per_class, uint64_t seed) const {
  RKHS_CHECK(centers.defined() && centers.dim() == 3 && centers.size(2) == 3,
             "SphereMixture::sample: centers must be (classes, k, 3); use SphereMixture::draw");
  RKHS_CHECK(per_class >= 1, "SphereMixture::sample: per_class must be >= 1");
  RKHS_CHECK(variance > 0, "SphereMixture::sample: variance must be > 0");
  const int64_t C = centers.size(0), K = centers.size(1);
  const at::Tensor cd = centers.to(torch::kCPU, torch::kDouble).contiguous();
  auto acc = cd.accessor<double, 3>();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int64_t> pick(0, K - 1);
  const double sd = std::sqrt(variance);
  std::vector<double> feats;
  std::vector<int64_t> labels;
  feats.reserve(C * per_class * 3);
  labels.reserve(C * per_class);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t i = 0; i < per_class; ++i) {
      const int64_t k = pick(rng);
      double v[3], norm2 = 0;
      do {
        norm2 = 0;
        for (int j = 0; j < 3; ++j) {
          v[j] = acc[c][k][j] + sd * normal(rng);
          norm2 += v[j] * v[j];
        }
      } while (norm2 == 0.0);
      const double inv = 1.0 / std::sqrt(norm2);
      for (int j = 0; j < 3; ++j) feats.push_back(v[j] * inv);
      labels.push_back(c);
    }
  }
  return shuffled_dataset(feats, labels, 3, C, "sphere", rng);
}

at::Tensor SphereMixture::log_density(const at::Tensor& u, int cls) const {
  RKHS_CHECK(cls >= 0 && cls < centers.size(0), "SphereMixture::log_density: class out of range");
  const at::Tensor lq = projected_normal_log_density(u, centers[cls], variance);  // (n, K)
  return torch::logsumexp(lq, 1) - std::log(static_cast<double>(centers.size(1)));
}

at::Tensor SphereMixture::bayes_predict(const at::Tensor& u) const {
  std::vector<at::Tensor> lp;
  for (int64_t c = 0; c < centers.size(0); ++c) lp.push_back(log_density(u, static_cast<int>(c)));
  return torch::stack(lp, 1).argmax(1);
}

double SphereMixture::bayes_accuracy(int64_t n_theta) const {
  auto [pts, w] = sphere_quadrature(n_theta, 2 * n_theta);
  const int64_t N = pts.size(0), C = centers.size(0);
  constexpr int64_t kChunk = int64_t(1) << 16;
  double total = 0;
  for (int64_t s = 0; s < N; s += kChunk) {
    const int64_t e = std::min(N, s + kChunk);
    const at::Tensor u = pts.slice(0, s, e);
    std::vector<at::Tensor> lp;
    for (int64_t c = 0; c < C; ++c) lp.push_back(log_density(u, static_cast<int>(c)));
    const at::Tensor best = std::get<0>(torch::stack(lp, 1).max(1));
    total += (torch::exp(best) * w.slice(0, s, e)).sum().item<double>();
  }
  return total / static_cast<double>(C);
}

Dataset make_moons(int64_t n, double noise, uint64_t seed) {
  RKHS_CHECK(n >= 2, "make_moons: n must be >= 2");
  RKHS_CHECK(noise >= 0, "make_moons: noise must be >= 0");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int64_t n_out = n / 2, n_in = n - n_out;
  std::vector<double> f;
  std::vector<int64_t> y;
  auto step = [](int64_t i, int64_t m) { return m > 1 ? kPi * i / (m - 1) : 0.0; };  // linspace(0, pi, m)
  for (int64_t i = 0; i < n_out; ++i) {
    const double s = step(i, n_out);
    f.push_back(std::cos(s) + noise * normal(rng));
    f.push_back(std::sin(s) + noise * normal(rng));
    y.push_back(0);
  }
  for (int64_t i = 0; i < n_in; ++i) {
    const double s = step(i, n_in);
    f.push_back(1 - std::cos(s) + noise * normal(rng));
    f.push_back(0.5 - std::sin(s) + noise * normal(rng));
    y.push_back(1);
  }
  return shuffled_dataset(f, y, 2, 2, "moons", rng);
}

Dataset make_circles(int64_t n, double noise, double factor, uint64_t seed) {
  RKHS_CHECK(n >= 2, "make_circles: n must be >= 2");
  RKHS_CHECK(noise >= 0, "make_circles: noise must be >= 0");
  RKHS_CHECK(factor > 0 && factor < 1, "make_circles: factor must be in (0, 1)");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int64_t n_out = n / 2, n_in = n - n_out;
  std::vector<double> f;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n_out; ++i) {
    const double s = 2 * kPi * i / n_out;
    f.push_back(std::cos(s) + noise * normal(rng));
    f.push_back(std::sin(s) + noise * normal(rng));
    y.push_back(0);
  }
  for (int64_t i = 0; i < n_in; ++i) {
    const double s = 2 * kPi * i / n_in;
    f.push_back(factor * std::cos(s) + noise * normal(rng));
    f.push_back(factor * std::sin(s) + noise * normal(rng));
    y.push_back(1);
  }
  return shuffled_dataset(f, y, 2, 2, "circles", rng);
}

Dataset make_uniform(int64_t n, double a, double b, uint64_t seed) {
  RKHS_CHECK(n >= 1, "make_uniform: n must be >= 1");
  RKHS_CHECK(std::isfinite(a) && std::isfinite(b) && a < b, "make_uniform: need finite a < b");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(a, b);
  Dataset d;
  d.x = torch::empty({n, 1}, torch::kFloat);
  float* px = d.x.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) px[i] = static_cast<float>(unif(rng));
  d.y = torch::zeros({n}, torch::kLong);
  d.num_classes = 1;
  d.name = "uniform";
  return d;
}

}  // namespace rkhs::data
