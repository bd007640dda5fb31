#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "rkhs/classify/head.h"
#include "rkhs/classify/heads.h"
#include "rkhs/classify/kcl.h"
#include "rkhs/classify/model.h"
#include "rkhs/error.h"
#include "rkhs/gradcheck.h"
#include "rkhs/nn/backbone.h"

using namespace rkhs::classify;

namespace {

HeadOptions head_opts(const std::string& name, int64_t dim = 6, int64_t classes = 4) {
  HeadOptions o;
  o.name = name;
  o.dim = dim;
  o.classes = classes;
  return o;
}

// Every head configuration worth checking: each registered name plus the softmax normalisations and the
// KCL activations.
std::vector<HeadOptions> all_configs(int64_t dim = 6, int64_t classes = 4) {
  std::vector<HeadOptions> out;
  for (const auto& name : head_names()) out.push_back(head_opts(name, dim, classes));
  for (const std::string norm : {"none", "both-fixed", "both-learned"}) {
    auto o = head_opts("softmax", dim, classes);
    o.normalize = norm;
    out.push_back(o);
  }
  for (const std::string act : {"sigmoid", "softmax", "none"}) {
    auto o = head_opts("kernelized", dim, classes);
    o.activation = act;
    out.push_back(o);
  }
  return out;
}

std::string label(const HeadOptions& o) { return o.name + "/" + o.normalize + "/" + o.activation; }

}  // namespace

TEST(Heads, ShapesFiniteOutputsAndGradientsIncludingZeroEmbedding) {
  torch::manual_seed(0);
  for (const auto& o : all_configs()) {
    auto head = make_head(o);
    auto z = torch::randn({5, 6});
    z[0].zero_();  // normalisation must not produce NaN
    z.requires_grad_(true);
    auto logits = head->forward(z);
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{5, 4})) << label(o);
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << label(o);
    auto loss = torch::cross_entropy_loss(logits, torch::tensor({0, 1, 2, 3, 0}));
    loss.backward();
    EXPECT_TRUE(torch::isfinite(z.grad()).all().item<bool>()) << label(o);
    for (const auto& p : head->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << label(o) << " " << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << label(o) << " " << p.key();
    }
    EXPECT_FALSE(head->describe().empty());
  }
}

TEST(Heads, GradcheckEveryHeadInZAndParameters) {
  torch::manual_seed(1);
  for (const auto& o : all_configs(4, 3)) {
    auto head = make_head(o);
    head->to(torch::kFloat64);
    std::vector<at::Tensor> inputs = {torch::randn({3, 4}, torch::kFloat64).requires_grad_(true)};
    for (const auto& p : head->parameters()) inputs.push_back(p);
    // The KCL coefficients: move away from ReLU's kink and give every term a different value.
    if (auto kcl = std::dynamic_pointer_cast<KernelizedHeadImpl>(head)) {
      torch::NoGradGuard g;
      kcl->alpha_raw.copy_(torch::rand({kcl->alpha_raw.size(0)}, torch::kFloat64) + 0.1);
    }
    auto r = rkhs::gradcheck([&](const std::vector<at::Tensor>& in) { return head->forward(in[0]); }, inputs, 1e-6,
                             1e-5, 1e-3);
    EXPECT_TRUE(r.ok) << label(o) << ": " << r.message;
  }
}

TEST(Heads, NamesAliasesAndErrors) {
  EXPECT_TRUE(std::dynamic_pointer_cast<CosineHeadImpl>(make_head(head_opts("lin"))));
  EXPECT_TRUE(std::dynamic_pointer_cast<KernelizedHeadImpl>(make_head(head_opts("kcl"))));
  EXPECT_THROW(make_head(head_opts("nope")), rkhs::Error);
  EXPECT_THROW(make_head(head_opts("softmax", 0, 3)), rkhs::Error);
  EXPECT_THROW(make_head(head_opts("kernelized", 4, 0)), rkhs::Error);
  EXPECT_THROW(make_head(head_opts("kernelized", -1, 3)), rkhs::Error);
  auto o = head_opts("kernelized");
  o.order = -1;
  EXPECT_THROW(make_head(o), rkhs::Error);
  o = head_opts("kernelized");
  o.activation = "tanh";
  EXPECT_THROW(make_head(o), rkhs::Error);
  o = head_opts("softmax");
  o.normalize = "weights";
  EXPECT_THROW(make_head(o), rkhs::Error);
  o = head_opts("rbf");
  o.sigma = 0;
  EXPECT_THROW(make_head(o), rkhs::Error);
  o = head_opts("poly");
  o.poly_degree = 0;
  EXPECT_THROW(make_head(o), rkhs::Error);
  o = head_opts("kervo-rbf");
  o.gamma = -1;
  EXPECT_THROW(make_head(o), rkhs::Error);
  auto h = make_head(head_opts("cosine", 6, 4));
  EXPECT_THROW(h->forward(torch::randn({2, 5})), rkhs::Error);
  EXPECT_EQ(head_names().size(), 10u);
}

// ---- the kernelized layer ------------------------------------------------------------------------------------

namespace {

// float64 reference of paper eq. 3-7 with plain loops.
std::vector<std::vector<double>> kcl_reference(const at::Tensor& z, const at::Tensor& w, const std::vector<double>& a,
                                               double temperature, double eps) {
  const int64_t b = z.size(0), c = w.size(0), d = z.size(1);
  auto za = z.accessor<double, 2>();
  auto wa = w.accessor<double, 2>();
  std::vector<std::vector<double>> out(b, std::vector<double>(c));
  for (int64_t i = 0; i < b; ++i) {
    double nz = 0;
    for (int64_t k = 0; k < d; ++k) nz += za[i][k] * za[i][k];
    nz = std::max(std::sqrt(nz), 1e-12);
    for (int64_t j = 0; j < c; ++j) {
      double nw = 0, dot = 0;
      for (int64_t k = 0; k < d; ++k) nw += wa[j][k] * wa[j][k], dot += za[i][k] * wa[j][k];
      double t = dot / (nz * std::max(std::sqrt(nw), 1e-12));
      t = std::min(1.0, std::max(-1.0, t));
      const double top = t >= 1 - eps ? 1 : 0, bottom = t <= -1 + eps ? 1 : 0;
      double k = a[0] * (top + bottom) + a[1] * (top - bottom);
      for (size_t m = 0; m + 2 < a.size(); ++m) k += a[m + 2] * std::pow(t, static_cast<double>(m));
      out[i][j] = k / temperature;
    }
  }
  return out;
}

}  // namespace

TEST(Kernelized, MatchesLoopReference) {
  torch::manual_seed(2);
  for (const std::string act : {"relu", "sigmoid", "softmax", "none"}) {
    KernelizedHead head(KernelizedOptions(5, 4).order(6).activation(act));
    head->to(torch::kFloat64);
    {
      torch::NoGradGuard g;
      head->alpha_raw.copy_(torch::randn({9}, torch::kFloat64));
    }
    auto z = torch::randn({6, 5}, torch::kFloat64);
    z[1].copy_(head->weight[2] * 3.0);   // t = 1: both indicators' "top" branch fires
    z[2].copy_(head->weight[0] * -0.5);  // t = -1
    z[3].zero_();                        // t = 0
    auto logits = head->forward(z);
    auto alpha = head->alpha().detach();
    std::vector<double> a(alpha.data_ptr<double>(), alpha.data_ptr<double>() + alpha.numel());
    auto ref = kcl_reference(z, head->weight.detach(), a, head->temperature(), 1e-6);
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 4; ++j)
        EXPECT_NEAR(logits[i][j].item<double>(), ref[i][j], 1e-9 * (1 + std::abs(ref[i][j]))) << act << " " << i << "," << j;
  }
}

TEST(Kernelized, OnlyAlphaOneEqualsCosineHead) {
  torch::manual_seed(3);
  const double s = 7.5;
  KernelizedHead kcl(KernelizedOptions(8, 5).temperature(1.0 / s));
  auto cos = std::make_shared<CosineHeadImpl>(head_opts("cosine", 8, 5));
  kcl->to(torch::kFloat64);
  cos->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    auto a = torch::zeros({13}, torch::kFloat64);
    a[3] = 1.0;  // (a_{-2}, a_{-1}, a_0, a_1, ...): only a_1
    kcl->alpha_raw.copy_(a);
    cos->weight.copy_(kcl->weight);
    cos->log_scale.fill_(std::log(s));
  }
  auto z = torch::randn({7, 8}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(kcl->forward(z), cos->forward(z), 1e-12, 1e-12));
}

TEST(Kernelized, AlphaZeroShiftsAllLogitsAndGetsNoGradient) {
  torch::manual_seed(4);
  KernelizedHead head(KernelizedOptions(6, 5));
  head->to(torch::kFloat64);
  auto z = torch::randn({8, 6}, torch::kFloat64).requires_grad_(true);
  auto y = torch::randint(0, 5, {8}, torch::kLong);
  auto run = [&](double a0) {
    {
      torch::NoGradGuard g;
      head->alpha_raw[2].fill_(a0);
    }
    head->zero_grad();
    if (z.grad().defined()) z.grad().zero_();
    auto logits = head->forward(z);
    auto loss = torch::cross_entropy_loss(logits, y);
    loss.backward();
    return std::make_tuple(logits.detach().clone(), loss.item<double>(), z.grad().clone(), head->weight.grad().clone(),
                           head->alpha_raw.grad().clone());
  };
  auto [l1, loss1, gz1, gw1, ga1] = run(1.0);
  auto [l2, loss2, gz2, gw2, ga2] = run(3.5);
  EXPECT_TRUE(torch::allclose(l2 - l1, torch::full_like(l1, 2.5 / head->temperature()), 1e-12, 1e-12));
  EXPECT_NEAR(loss1, loss2, 1e-12);
  EXPECT_TRUE(torch::allclose(gz1, gz2, 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(gw1, gw2, 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(ga1, ga2, 1e-10, 1e-12));
  EXPECT_NEAR(ga1[2].item<double>(), 0.0, 1e-12);  // d loss / d a_0 = 0 under cross-entropy
  EXPECT_GT(ga1.abs().sum().item<double>(), 1e-6);
}

TEST(Kernelized, ActivationsGiveNonNegativeAlpha) {
  torch::manual_seed(5);
  for (const std::string act : {"relu", "sigmoid", "softmax", "none"}) {
    KernelizedHead head(KernelizedOptions(3, 2).activation(act));
    {
      torch::NoGradGuard g;
      head->alpha_raw.copy_(torch::randn({13}) * 3);
      head->alpha_raw[0] = -2.0;
    }
    auto a = head->alpha();
    ASSERT_EQ(a.numel(), 13);
    if (act == "none") {
      EXPECT_LT(a.min().item<float>(), 0.0f);
    } else {
      EXPECT_GE(a.min().item<float>(), 0.0f) << act;
    }
    if (act == "softmax") {
      EXPECT_NEAR(a.sum().item<float>(), 1.0f, 1e-5);
    }
  }
}

TEST(Kernelized, DefaultsInitAndWeightDecay) {
  auto relu = KernelizedHead(KernelizedOptions(4, 3));
  EXPECT_EQ(relu->describe(), "kernelized(M=10, act=relu, T=1, eps=1e-06)");
  EXPECT_TRUE(torch::equal(relu->alpha(), torch::ones({13})));
  auto wd = relu->weight_decay_overrides();
  ASSERT_EQ(wd.size(), 1u);
  EXPECT_EQ(wd[0].first, "alpha_raw");
  EXPECT_DOUBLE_EQ(wd[0].second, 1e-4);

  auto sig = KernelizedHead(KernelizedOptions(4, 3).activation("sigmoid"));
  EXPECT_DOUBLE_EQ(sig->temperature(), 0.1);
  EXPECT_DOUBLE_EQ(sig->weight_decay_overrides()[0].second, 0.0);
  EXPECT_TRUE(torch::allclose(sig->alpha(), torch::full({13}, 0.5)));
  auto soft = KernelizedHead(KernelizedOptions(4, 3).activation("softmax"));
  EXPECT_DOUBLE_EQ(soft->temperature(), 0.005);
  EXPECT_EQ(soft->describe(), "kernelized(M=10, act=softmax, T=0.005, eps=1e-06)");
  EXPECT_DOUBLE_EQ(soft->weight_decay_overrides()[0].second, 0.0);
  EXPECT_DOUBLE_EQ(KernelizedHead(KernelizedOptions(4, 3).activation("none"))->temperature(), 1.0);

  auto custom = KernelizedHead(KernelizedOptions(4, 3).alpha_weight_decay(5e-4).temperature(0.5).order(3));
  EXPECT_DOUBLE_EQ(custom->weight_decay_overrides()[0].second, 5e-4);
  EXPECT_EQ(custom->alpha_raw.numel(), 6);
  EXPECT_EQ(custom->describe(), "kernelized(M=3, act=relu, T=0.5, eps=1e-06)");

  // No bias: parameters are exactly weight and alpha_raw.
  auto names = relu->named_parameters().keys();
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "alpha_raw"}));
}

TEST(Kernelized, ClassifierReportsPrefixedWeightDecay) {
  rkhs::nn::BackboneOptions bo;
  bo.name = "mlp";
  bo.input_shape = {5};
  bo.hidden = {8};
  auto model = ClassifierImpl(rkhs::nn::make_backbone(bo), make_head(head_opts("kcl", 8, 3)));
  auto wd = model.weight_decay_overrides();
  ASSERT_EQ(wd.size(), 1u);
  EXPECT_EQ(wd[0].first, "head.alpha_raw");
  EXPECT_NE(model.named_parameters().find("head.alpha_raw"), nullptr);
  EXPECT_EQ(model.forward(torch::randn({2, 5})).sizes(), (std::vector<int64_t>{2, 3}));
}

// ---- the baselines ---------------------------------------------------------------------------------------------

TEST(Baselines, SoftmaxNormalizations) {
  torch::manual_seed(6);
  auto z = torch::randn({4, 6});
  auto o = head_opts("softmax");
  o.normalize = "none";
  auto none = std::make_shared<SoftmaxHeadImpl>(o);
  EXPECT_TRUE(torch::allclose(none->forward(z), torch::addmm(none->bias, z, none->weight.t())));
  o.normalize = "embedding";
  auto emb = std::make_shared<SoftmaxHeadImpl>(o);
  EXPECT_TRUE(torch::allclose(emb->forward(z * 10), emb->forward(z), 1e-5, 1e-5));  // scale invariant in z
  o.normalize = "both-fixed";
  auto fixed = std::make_shared<SoftmaxHeadImpl>(o);
  EXPECT_TRUE(fixed->named_parameters().keys() == std::vector<std::string>{"weight"});
  EXPECT_LE(fixed->forward(z).abs().max().item<float>(), 10.0f + 1e-4f);
  EXPECT_EQ(fixed->describe(), "softmax(normalize=both-fixed, T=0.1)");
  o.normalize = "both-learned";
  auto learned = std::make_shared<SoftmaxHeadImpl>(o);
  EXPECT_NEAR(learned->log_scale.exp().item<float>(), 10.0f, 1e-4);
}

TEST(Baselines, CosineScale) {
  auto cos = std::make_shared<CosineHeadImpl>(head_opts("cosine"));
  EXPECT_NEAR(cos->scale().item<float>(), 10.0f, 1e-4);
  auto z = torch::randn({3, 6});
  auto expect = torch::matmul(torch::nn::functional::normalize(z, torch::nn::functional::NormalizeFuncOptions().dim(1)),
                              torch::nn::functional::normalize(cos->weight, torch::nn::functional::NormalizeFuncOptions().dim(1)).t()) * 10;
  EXPECT_TRUE(torch::allclose(cos->forward(z), expect, 1e-4, 1e-5));
}

TEST(Baselines, SopFeatures) {
  torch::manual_seed(7);
  auto sop = std::make_shared<SopHeadImpl>(head_opts("sop", 5, 3));
  EXPECT_EQ(sop->feature_dim(), 15);
  EXPECT_EQ(sop->weight.sizes(), (std::vector<int64_t>{3, 15}));
  auto z = torch::randn({4, 5}, torch::kFloat64);
  auto f = sop->features(z);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{4, 15}));
  EXPECT_TRUE(torch::allclose(f.norm(2, {1}), torch::ones({4}, torch::kFloat64)));
  // Entry 1 of row 0 is z_0 z_1 (upper triangle, row-major): signed square root, then normalised.
  auto u = z[0][0] * z[0][1];
  auto v0 = (torch::sign(u) * torch::sqrt(u.abs())).item<double>();
  // Ratio of entries equals the ratio of the signed square roots (normalisation is shared).
  auto u2 = z[0][2] * z[0][2];
  const double r_expect = v0 / std::sqrt(u2.item<double>());
  EXPECT_NEAR(f[0][1].item<double>() / f[0][5 + 4].item<double>(), r_expect, 1e-6);
}

TEST(Baselines, KervoFormulas) {
  torch::manual_seed(8);
  auto z = torch::randn({3, 6});
  auto zh = z / z.norm(2, 1, true);
  auto poly = std::make_shared<KervoHeadImpl>(head_opts("kervo-poly"));
  EXPECT_NEAR(poly->log_scale.exp().item<float>(), 1.0f, 1e-6);
  EXPECT_TRUE(torch::allclose(poly->forward(z), (torch::matmul(zh, poly->weight.t()) + 1).pow(3) + poly->bias, 1e-4, 1e-5));
  auto rbf = std::make_shared<KervoHeadImpl>(head_opts("kervo-rbf"));
  auto d2 = (zh.unsqueeze(1) - rbf->weight.unsqueeze(0)).pow(2).sum(2);
  EXPECT_TRUE(torch::allclose(rbf->forward(z), 10 * torch::exp(-d2) + rbf->bias, 1e-4, 1e-5));
  EXPECT_EQ(rbf->weight_decay_overrides().size(), 1u);
}

TEST(Baselines, SphereKernelsAndMkl) {
  torch::manual_seed(9);
  auto z = torch::randn({3, 6}, torch::kFloat64);
  auto o = head_opts("rbf");
  o.sigma = 0.7;
  auto rbf = std::make_shared<SphereKernelHeadImpl>(o);
  rbf->to(torch::kFloat64);
  auto zh = l2_normalize_rows(z), wh = l2_normalize_rows(rbf->weight);
  auto d2 = (zh.unsqueeze(1) - wh.unsqueeze(0)).pow(2).sum(2);
  EXPECT_TRUE(torch::allclose(rbf->forward(z), rbf->log_scale.exp() * torch::exp(-d2 / (2 * 0.7 * 0.7)), 1e-9, 1e-9));
  auto learned = std::make_shared<SphereKernelHeadImpl>(head_opts("rbf-learned"));
  EXPECT_NEAR(learned->sigma().item<float>(), 1.0f, 1e-6);
  EXPECT_TRUE(learned->named_parameters().contains("log_sigma"));
  auto poly = std::make_shared<SphereKernelHeadImpl>(head_opts("poly"));
  poly->to(torch::kFloat64);
  auto t = torch::matmul(zh, l2_normalize_rows(poly->weight).t());
  EXPECT_TRUE(torch::allclose(poly->forward(z), poly->log_scale.exp() * ((t + 1) / 2).pow(10), 1e-9, 1e-12));
  EXPECT_NEAR(poly->log_scale.exp().item<double>(), 10.0, 1e-5);
  auto mkl = std::make_shared<MklHeadImpl>(head_opts("mkl"));
  mkl->to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(mkl->beta(), torch::ones({3}, torch::kFloat64)));
  auto tm = torch::matmul(zh, l2_normalize_rows(mkl->weight).t());
  EXPECT_TRUE(torch::allclose(mkl->forward(z), tm + tm * tm + torch::exp(tm - 1), 1e-9, 1e-12));
}

// The fused CPU function against the reference composition: logits and first-order gradients in z, w and alpha
// (float64, including t = +-1 with the indicators firing and a zero embedding), and the
// create_graph path (Hessian-vector products, as ESGD/AdaHessian take them).
TEST(Kernelized, FusedFunctionMatchesTheReferenceIncludingHessianVectorProducts) {
  torch::manual_seed(5);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true);
  auto w = torch::randn({4, 5}, opts);
  auto z = torch::randn({7, 5}, torch::kFloat64);
  z[1].copy_(w.detach()[2] * 3.0);   // t = 1
  z[2].copy_(w.detach()[0] * -0.5);  // t = -1
  z[3].zero_();                      // zero embedding
  z.requires_grad_(true);
  auto alpha = (torch::rand({9}, torch::kFloat64) + 0.1).requires_grad_(true);
  const double eps = 1e-6, temperature = 0.7;
  auto fused = rkhs::classify::kcl_logits(z, w, alpha, eps, temperature);
  auto ref = rkhs::classify::kcl_logits_reference(z, w, alpha, eps, temperature);
  EXPECT_LT((fused - ref).abs().max().item<double>(), 1e-13);
  auto weights = torch::randn({7, 4}, torch::kFloat64);
  auto gf = torch::autograd::grad({(fused * weights).sum()}, {z, w, alpha});
  auto gr = torch::autograd::grad({(ref * weights).sum()}, {z, w, alpha});
  // Row by row, relative to the row's largest entry (the zero embedding's gradient is huge, 1/1e-12, in both).
  for (size_t i = 0; i < 3; ++i) {
    auto f = gf[i].reshape({gf[i].size(0), -1}), g = gr[i].reshape({gr[i].size(0), -1});
    if (i == 2) f = f.reshape({1, -1}), g = g.reshape({1, -1});
    auto err = (f - g).abs().amax(1), scale = 1 + g.abs().amax(1);
    EXPECT_TRUE((err <= 1e-12 * scale).all().item<bool>()) << "input " << i << ": " << err;
  }

  // Finite differences away from z = 0, where the normalisation is not differentiable.
  auto zc = z.detach().clone();
  zc[3].copy_(torch::randn({5}, torch::kFloat64));
  zc.requires_grad_(true);
  auto r = rkhs::gradcheck([&](const std::vector<at::Tensor>& in) {
    return rkhs::classify::kcl_logits(in[0], in[1], in[2], eps, temperature);
  }, {zc, w, alpha});
  EXPECT_TRUE(r.ok) << r.message;

  // H v through the create_graph backward equals the reference's.
  auto hvp = [&](bool use_fused) {
    auto out = use_fused ? rkhs::classify::kcl_logits(z, w, alpha, eps, temperature)
                         : rkhs::classify::kcl_logits_reference(z, w, alpha, eps, temperature);
    auto loss = torch::cross_entropy_loss(out, torch::tensor({0, 1, 2, 3, 0, 1, 2}, torch::kLong));
    auto g = torch::autograd::grad({loss}, {w, alpha}, {}, true, true);
    auto gv = (g[0] * torch::ones_like(w)).sum() + (g[1] * torch::linspace(-1, 1, 9, torch::kFloat64)).sum();
    return torch::autograd::grad({gv}, {w, alpha});
  };
  auto hf = hvp(true), hr = hvp(false);
  for (size_t i = 0; i < 2; ++i) EXPECT_LT((hf[i] - hr[i]).abs().max().item<double>(), 1e-11) << "Hv block " << i;
  EXPECT_THROW(rkhs::classify::kcl_logits(z, w.t(), alpha, eps, temperature), rkhs::Error);
  EXPECT_THROW(rkhs::classify::kcl_logits(z, w, alpha, eps, 0.0), rkhs::Error);
}

// Large enough for several parallel chunks (each chunk's partial coefficient gradient lands in its first row).
TEST(Kernelized, FusedFunctionMatchesTheReferenceAcrossParallelChunks) {
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  torch::manual_seed(6);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true);
  auto z = torch::randn({96, 8}, opts), w = torch::randn({1024, 8}, opts);
  auto alpha = (torch::rand({13}, torch::kFloat64) + 0.1).requires_grad_(true);
  auto weights = torch::randn({96, 1024}, torch::kFloat64);
  auto gf = torch::autograd::grad({(rkhs::classify::kcl_logits(z, w, alpha, 1e-6, 0.5) * weights).sum()}, {z, w, alpha});
  auto gr = torch::autograd::grad({(rkhs::classify::kcl_logits_reference(z, w, alpha, 1e-6, 0.5) * weights).sum()},
                                  {z, w, alpha});
  at::set_num_threads(threads);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_LT((gf[i] - gr[i]).abs().max().item<double>(), 1e-10 * (1 + gr[i].abs().max().item<double>())) << "input " << i;
}
