// One CKN layer against hand computations and a direct float64 loop over patches; pooling; gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rkhs/ckn/inverse_sqrt.h"
#include "rkhs/ckn/layer.h"
#include "rkhs/error.h"
#include "rkhs/gradcheck.h"

using namespace rkhs::ckn;

namespace {

LayerOptions opts(int64_t c, int64_t p, int64_t patch, int64_t s, double sigma = 0.6) {
  LayerOptions o;
  o.in_channels = c;
  o.filters = p;
  o.patch = patch;
  o.subsample = s;
  o.sigma = sigma;
  return o;
}

// The layer's output computed by explicit loops in float64 (steps 1-4 of layer.h), from its filters.
at::Tensor direct(const at::Tensor& x, const at::Tensor& z, const LayerOptions& o) {
  const int64_t c = x.size(0), hgt = x.size(1), wid = x.size(2), h = o.patch, r = h / 2, p = z.size(0);
  auto xa = x.accessor<double, 3>();
  auto za = z.accessor<double, 2>();
  auto m = torch::zeros({p, hgt, wid}, torch::kFloat64);
  auto ma = m.accessor<double, 3>();
  for (int64_t i = 0; i < hgt; ++i)
    for (int64_t j = 0; j < wid; ++j) {
      std::vector<double> patch;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t di = -r; di <= r; ++di)
          for (int64_t dj = -r; dj <= r; ++dj) {
            const int64_t ii = i + di, jj = j + dj;
            patch.push_back(ii >= 0 && ii < hgt && jj >= 0 && jj < wid ? xa[ch][ii][jj] : 0.0);
          }
      double n2 = 0;
      for (double v : patch) n2 += v * v;
      const double n = std::sqrt(std::max(n2, 1e-6));
      for (int64_t f = 0; f < p; ++f) {
        double dot = 0;
        for (size_t k = 0; k < patch.size(); ++k) dot += za[f][k] * patch[k];
        ma[f][i][j] = n * std::exp((dot / n - 1) / (o.sigma * o.sigma));
      }
    }
  const int64_t s = o.subsample, oh = (hgt + s - 1) / s, ow = (wid + s - 1) / s;
  auto pooled = torch::zeros({p, oh, ow}, torch::kFloat64);
  auto pa = pooled.accessor<double, 3>();
  double wsum = 0;
  for (int64_t u = -s; u <= s; ++u) wsum += std::exp(-double(u * u) / double(s * s));
  for (int64_t f = 0; f < p; ++f)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = 0;
        for (int64_t di = -s; di <= s; ++di)
          for (int64_t dj = -s; dj <= s; ++dj) {
            const int64_t ii = i * s + di, jj = j * s + dj;
            if (ii < 0 || ii >= hgt || jj < 0 || jj >= wid) continue;
            acc += ma[f][ii][jj] * std::exp(-double(di * di + dj * dj) / double(s * s)) / (wsum * wsum);
          }
        pa[f][i][j] = s == 1 ? ma[f][i][j] : acc;
      }
  auto k = ((z.mm(z.t()) - 1) / (o.sigma * o.sigma)).exp();
  auto l = inverse_sqrt(k, o.eps);
  return l.mm(pooled.reshape({p, -1})).reshape({p, oh, ow});
}

}  // namespace

TEST(CKNPooling, WeightsAreNormalisedGaussians) {
  for (int64_t s : {1, 2, 3, 6}) {
    auto w = pooling_weights_1d(s);
    ASSERT_EQ(w.size(0), 2 * s + 1);
    EXPECT_NEAR(w.sum().item<double>(), 1.0, 1e-12);
    EXPECT_TRUE(torch::allclose(w, w.flip(0)));
    // exp(-u^2 / s^2): the ratio of the centre to the neighbour at distance s is e.
    EXPECT_NEAR((w[s] / w[0]).item<double>(), std::exp(1.0), 1e-9);
  }
}

TEST(CKNLayer, OutputSizeIsCeilOfInputOverSubsampling) {
  for (int64_t s : {1, 2, 3, 6})
    for (int64_t hw : {5, 7, 28}) {
      CKNLayer layer(opts(2, 3, 3, s));
      auto y = layer->forward(torch::randn({2, 2, hw, hw + 1}));
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, (hw + s - 1) / s, (hw + s) / s})) << "s " << s << " hw " << hw;
      EXPECT_EQ(layer->output_size(hw), (hw + s - 1) / s);
    }
}

TEST(CKNLayer, OneByOnePatchByHand) {
  // One 1x1 filter z = [1] on one channel: M = n kappa(x / n) with n = max(|x|, 1e-3), i.e. x for x > 0 and
  // |x| exp(-2 / sigma^2) for x < 0; K = kappa(1) = 1, so L = 1 / (1 + eps).
  auto o = opts(1, 1, 1, 1, 0.5);
  CKNLayer layer(o);
  layer->set_filters(torch::ones({1, 1}));
  auto x = torch::tensor({2.0f, -1.0f, 0.5f, -3.0f}).view({1, 1, 2, 2});
  auto y = layer->forward(x).flatten();
  const double l = 1 / (1 + o.eps), neg = std::exp(-2 / 0.25);
  const std::vector<double> expected = {2 * l, 1 * neg * l, 0.5 * l, 3 * neg * l};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i].item<double>(), expected[i], 1e-6) << i;
}

TEST(CKNLayer, MatchesDirectLoopsInFloat64) {
  for (int64_t s : {1, 2, 3}) {
    auto o = opts(2, 4, 3, s, 0.7);
    CKNLayer layer(o);
    layer->to(torch::kFloat64);
    torch::manual_seed(10 + s);
    layer->set_filters(torch::randn({4, 18}, torch::kFloat64));
    auto x = torch::randn({1, 2, 7, 6}, torch::kFloat64);
    x.index_put_({0, 0, 2, 2}, 0.0);
    auto got = layer->forward(x)[0];
    auto want = direct(x[0], layer->filters.detach(), o);
    EXPECT_TRUE(torch::allclose(got, want, 1e-10, 1e-10)) << "s " << s << ": " << (got - want).abs().max().item<double>();
  }
}

TEST(CKNLayer, EvalCacheAgreesAndIsDroppedWithNewFilters) {
  auto o = opts(1, 5, 3, 2);
  CKNLayer layer(o);
  auto x = torch::randn({3, 1, 8, 8});
  auto train_out = layer->forward(x).detach();
  layer->eval();
  auto eval_out = layer->forward(x);
  EXPECT_TRUE(torch::allclose(train_out, eval_out, 1e-4, 1e-5));
  layer->set_filters(torch::randn({5, 9}));
  auto after = layer->forward(x);
  EXPECT_FALSE(torch::allclose(after, eval_out, 1e-3, 1e-3));
  layer->train();
  EXPECT_TRUE(torch::allclose(layer->forward(x).detach(), after, 1e-4, 1e-5));
  // Filters are unit norm after set_filters.
  EXPECT_TRUE(torch::allclose(layer->filters.norm(2, 1), torch::ones({5}), 1e-5, 1e-6));
}

TEST(CKNLayer, GradcheckInputAndFilters) {
  auto o = opts(2, 3, 3, 2, 0.8);
  CKNLayer layer(o);
  layer->to(torch::kFloat64);
  torch::manual_seed(20);
  auto x = torch::randn({2, 2, 5, 5}, torch::kFloat64).requires_grad_(true);
  auto z = layer->filters.detach().clone().requires_grad_(true);
  // The forward pass reads the member `filters`; point it at the gradcheck input for the call.
  auto run = [&](const std::vector<at::Tensor>& in) {
    auto saved = layer->filters;
    layer->filters = in[1];
    auto out = layer->forward(in[0]);
    layer->filters = saved;
    return out;
  };
  auto r = rkhs::gradcheck(run, {x, z}, 1e-6, 1e-6, 1e-4);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(CKNLayer, RejectsBadOptionsAndInputs) {
  EXPECT_THROW(CKNLayer(opts(1, 4, 2, 1)), rkhs::Error);  // even patch
  EXPECT_THROW(CKNLayer(opts(1, 4, 3, 0)), rkhs::Error);
  auto o = opts(1, 4, 3, 1);
  o.kernel = "cubic";
  EXPECT_THROW(CKNLayer{o}, rkhs::Error);
  CKNLayer layer(opts(3, 4, 3, 1));
  EXPECT_THROW(layer->forward(torch::randn({1, 1, 5, 5})), rkhs::Error);
  EXPECT_THROW(layer->forward(torch::randn({5, 5})), rkhs::Error);
}
