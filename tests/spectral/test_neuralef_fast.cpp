// NeuralEF's fast one-process path against independent references: the networks' forward against a plain loop over
// the k networks, the sin/cos activation's gradient (gradcheck) and its CPU loop against std::sin / std::cos in
// double, the hand-written backward (backward_taped) and the CPU step (L2BN, eq. 18 and L2BN's backward in loops)
// against autograd of eq. 17 through forward() in float64.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "rkhs/error.h"
#include "rkhs/gradcheck.h"
#include "rkhs/spectral/neuralef.h"
#include "spectral/sincos_kernels.h"

using namespace rkhs::spectral;

namespace {

NeuralEF make_net(const std::string& activation, bool shared, int64_t input_dim, torch::Dtype dtype) {
  NeuralEFOptions o;
  o.k = 4;
  o.input_dim = input_dim;
  o.width = 6;
  o.activation = activation;
  o.shared_trunk = shared;
  NeuralEF net(o);
  net->to(dtype);
  torch::NoGradGuard g;
  for (auto& b : net->biases) b.normal_();  // nonzero biases, so that their gradients are checked too
  return net;
}

// raw(x) computed network by network with plain matrix products: (B, k).
at::Tensor reference_raw(const NeuralEF& net, const at::Tensor& x) {
  const auto& o = net->options;
  const int64_t nets = o.shared_trunk ? 1 : o.k;
  std::vector<at::Tensor> columns;
  for (int64_t n = 0; n < nets; ++n) {
    auto h = x;
    for (size_t l = 0; l < net->weights.size(); ++l) {
      h = h.mm(net->weights[l][n]) + net->biases[l][n];
      if (l + 1 == net->weights.size()) break;
      if (o.activation == "sincos") {
        h = torch::cat({h.slice(1, 0, o.width / 2).sin(), h.slice(1, o.width / 2).cos()}, 1);
      } else if (o.activation == "relu") {
        h = h.relu();
      } else {
        h = h.tanh();
      }
    }
    columns.push_back(h);
  }
  return torch::cat(columns, 1);
}

}  // namespace

TEST(NeuralEFFast, RawEqualsAPlainLoopOverTheNetworks) {
  torch::manual_seed(3);
  for (const std::string act : {"sincos", "relu", "tanh"})
    for (const bool shared : {false, true}) {
      SCOPED_TRACE(act + (shared ? " shared" : " separate"));
      auto net = make_net(act, shared, 3, torch::kFloat64);
      auto x = torch::randn({9, 3}, torch::kFloat64);
      torch::NoGradGuard g;
      EXPECT_TRUE(torch::allclose(net->raw(x), reference_raw(net, x), 1e-12, 1e-12));
      EXPECT_TRUE(torch::allclose(net->raw_taped(x), reference_raw(net, x), 1e-12, 1e-12));
    }
}

TEST(NeuralEFFast, SinCosActivationGradcheck) {
  torch::manual_seed(4);
  auto h = (3 * torch::randn({3, 4, 5}, torch::kFloat64)).requires_grad_(true);
  auto r = rkhs::gradcheck([](const std::vector<at::Tensor>& in) { return sincos_activation(in[0]); }, {h});
  EXPECT_TRUE(r.ok) << r.message;
  auto out = sincos_activation(h.detach());
  EXPECT_TRUE(torch::allclose(out.slice(1, 0, 2), h.detach().slice(1, 0, 2).sin()));
  EXPECT_TRUE(torch::allclose(out.slice(1, 2), h.detach().slice(1, 2).cos()));
  EXPECT_THROW(sincos_activation(torch::randn({2, 3, 4})), rkhs::Error);
}

// sin(x) (or -sin(x)) and cos(x) of every entry by cpu::sincos, and the largest error against double's libm.
static double sincos_error(const std::vector<float>& x, bool negate) {
  std::vector<float> s(x.size()), c(x.size());
  cpu::sincos(x.data(), int64_t(x.size()), negate, s.data(), c.data());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want_s = (negate ? -1 : 1) * std::sin(double(x[i])), want_c = std::cos(double(x[i]));
    worst = std::max({worst, std::fabs(s[i] - want_s), std::fabs(c[i] - want_c)});
  }
  return worst;
}

TEST(NeuralEFFast, CpuSinCosMatchesTheLibmInDouble) {
  // The vector path: |x| <= 8192, every quadrant, lengths that are not a multiple of the vector width.
  std::vector<float> x;
  for (int i = -200000; i <= 200000; ++i) x.push_back(float(i) * 1e-3f);  // [-200, 200]
  for (float v : {8191.5f, -8192.0f, 1e-30f, -0.0f, 0.7853981f, 1.5707963f, 3.1415927f, 4.712389f, 1000.25f})
    x.push_back(v);
  for (const bool negate : {false, true}) {
    EXPECT_LT(sincos_error(x, negate), 2e-7);
    for (size_t n = 1; n < 20; ++n) EXPECT_LT(sincos_error(std::vector<float>(x.begin(), x.begin() + n), negate), 2e-7);
  }
  // A range reaching beyond 8192 goes through std::sin / std::cos (the float input rounded as libm sees it).
  std::vector<float> wide = {0.5f, 8193.0f, -1e5f, 3e7f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  EXPECT_LT(sincos_error(wide, false), 1e-7);
  // NaN stays NaN; infinities give NaN, as std::sin does.
  std::vector<float> odd = {std::numeric_limits<float>::quiet_NaN(), 0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f};
  std::vector<float> s(odd.size()), c(odd.size());
  cpu::sincos(odd.data(), int64_t(odd.size()), false, s.data(), c.data());
  EXPECT_TRUE(std::isnan(s[0]) && std::isnan(c[0]));
  for (size_t i = 1; i < odd.size(); ++i) EXPECT_NEAR(c[i], std::cos(double(odd[i])), 2e-7);
  odd[3] = std::numeric_limits<float>::infinity();
  cpu::sincos(odd.data(), int64_t(odd.size()), false, s.data(), c.data());
  EXPECT_TRUE(std::isnan(s[3]) && std::isnan(c[3]));
}

TEST(NeuralEFFast, TapedBackwardEqualsAutograd) {
  torch::manual_seed(5);
  for (const auto dtype : {torch::kFloat64, torch::kFloat32})
    for (const std::string act : {"sincos", "relu", "tanh"})
      for (const bool shared : {false, true})
        for (const int64_t d : {1, 3}) {
          SCOPED_TRACE(act + (shared ? " shared d=" : " separate d=") + std::to_string(d) +
                       (dtype == torch::kFloat32 ? " float" : " double"));
          auto net = make_net(act, shared, d, dtype);
          auto x = torch::randn({11, d}, dtype);
          auto g = torch::randn({11, 4}, dtype);
          net->zero_grad();
          net->raw(x).backward(g);
          std::vector<at::Tensor> want;
          for (const auto& p : net->parameters()) want.push_back(p.grad().clone());
          net->raw_taped(x);
          net->backward_taped(g);
          const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-12;
          const auto params = net->parameters();
          for (size_t i = 0; i < params.size(); ++i)
            EXPECT_TRUE(torch::allclose(params[i].grad(), want[i], tol, tol)) << i << "\n" << params[i].grad() - want[i];
        }
  auto net = make_net("sincos", false, 1, torch::kFloat32);
  EXPECT_THROW(net->backward_taped(torch::zeros({3, 4})), rkhs::Error);  // no taped forward before it
}

TEST(NeuralEFFast, StepGradientsEqualAutogradOfEq17ThroughL2bn) {
  torch::manual_seed(6);
  const int64_t b = 32;
  auto x = torch::rand({b, 1}, torch::kFloat64) * 4 - 2;
  auto kb = (-(x - x.t()).square() / 2).exp();
  for (const auto dtype : {torch::kFloat32, torch::kFloat64})  // float: the CPU loops; double: ATen operations
    for (const bool taped : {true, false}) {
      SCOPED_TRACE(std::string(dtype == torch::kFloat32 ? "float" : "double") + (taped ? " taped" : " autograd"));
      auto net = make_net("sincos", false, 1, torch::kFloat64);
      auto ref = make_net("sincos", false, 1, torch::kFloat64);
      {
        torch::NoGradGuard g;
        const auto from = net->parameters(), to = ref->parameters();
        for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
      }
      ref->zero_grad();
      neuralef_loss(kb, ref->forward(x)).backward();
      net->to(dtype);
      net->zero_grad();
      auto s = neuralef_step(net, x.to(dtype), kb.to(dtype), 0, taped);
      if (taped) {
        net->backward_taped(s.raw_grad);
      } else {
        s.raw.backward(s.raw_grad);
      }
      const double tol = dtype == torch::kFloat32 ? 2e-4 : 1e-10;
      const auto got = net->parameters(), want = ref->parameters();
      for (size_t i = 0; i < got.size(); ++i) {
        const auto scale = want[i].grad().abs().max().item<double>();
        EXPECT_LT((got[i].grad().to(torch::kFloat64) - want[i].grad()).abs().max().item<double>(), tol * scale) << i;
      }
      // R = Psi^T K Psi, the norm EMA set from the batch, and a zero check value.
      auto psi = ref->forward(x).detach();
      EXPECT_TRUE(torch::allclose(s.rmat.to(torch::kFloat64), psi.t().mm(kb).mm(psi), tol, tol * b));
      EXPECT_TRUE(torch::allclose(net->norm_ema.to(torch::kFloat64), ref->norm_ema, tol, tol));
      EXPECT_EQ(s.check.item<double>(), 0);
    }
}
