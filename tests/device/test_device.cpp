// Every system on a second device (issue 24): the kernels, every head, the Monte Carlo kernels and the NTK, and
// each job end to end (classify with several optimizers, ckn, eigen, embed, recommend) on a tiny configuration.
// The device is RKHS_TEST_DEVICE when it names one other than the CPU (scripts/gpu_check.sh sets cuda); otherwise
// LibTorch's lazy device, which exists on every machine: a tensor created on the CPU and mixed with the device's
// tensors aborts the test there, naming the operation (lazy_modules.h). Values are compared with the same
// computation on the CPU where both start from the same numbers.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "lazy_modules.h"
#include "rkhs/classify/head.h"
#include "rkhs/jobs/ckn_job.h"
#include "rkhs/jobs/classify_job.h"
#include "rkhs/jobs/eigen_job.h"
#include "rkhs/jobs/embed_job.h"
#include "rkhs/jobs/recommend_job.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/nngp.h"
#include "rkhs/spectral/ntk.h"
#include "test_device.h"

namespace {

// The device under test: RKHS_TEST_DEVICE, or lazy when that is the CPU.
std::string device_name() {
  const auto name = rkhs::test::test_device_name();
  return name == "cpu" ? "lazy" : name;
}
c10::Device device() { return rkhs::compat::parse_device(device_name()); }

// Runs f with modules built on the device when it is the lazy one (a CUDA run moves them with Module::to).
template <typename F>
auto on_device(F f) {
  std::optional<rkhs::test::LazyModules> scope;
  if (device().is_lazy()) scope.emplace();
  return f();
}

// LibTorch 2.x's lazy TorchScript backend types a 0-dim tensor times a number as the tensor's dtype but computes it
// in double, so a backward pass through a loss times a number (every training loop has one) fails with "expected
// scalar type Float but found Double" (seen with Debian's 2.6: scripts/torch2_check.sh). PyTorch's own Python,
// `(F.cross_entropy(x @ w, y) * 0.5).backward()` on the lazy device, fails the same way, with 1.13 too; rkhs's C++
// jobs train there with 1.13. The CKN job's classifier (LibTorch's C++ L-BFGS) also fails there with 2.6, "the fit
// diverged": the backend runs L-BFGS nondeterministically. Four identical runs in one process of a 200 x 16
// logistic regression, objective and L-BFGS written out in a throwaway probe, ended at 0.1666, 0.1572, 0.2130 and
// 4.03 (13, 32, 18 and 15 evaluations; the CPU: 0.1572 every time), while the objective and its gradient at fixed
// points agree with the CPU's to 1.5e-8 (docs/DEVICES.md). So with 2.x the jobs are checked on CUDA alone
// (RKHS_TEST_DEVICE=cuda; scripts/gpu_check.sh also compares each command's results on the CPU and the GPU).
#define RKHS_SKIP_JOB_ON_LAZY_2X()                                                                          \
  if (device().is_lazy() && TORCH_VERSION_MAJOR >= 2)                                                     \
  GTEST_SKIP() << "LibTorch 2.x's lazy backend cannot train this job (test_device.cpp); run it with " \
                  "RKHS_TEST_DEVICE=cuda"

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("rkhs_device_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64)).abs().max().item<double>();
}

}  // namespace

// Every registry kernel's gram on the device: the device's tensor, the CPU's values.
TEST(Device, EveryRegistryKernel) {
  torch::manual_seed(0);
  auto x = torch::randn({7, 3}, torch::kFloat64), y = torch::randn({5, 3}, torch::kFloat64);
  x = x / x.norm(2, 1, true);  // some kernels live on the unit sphere
  y = y / y.norm(2, 1, true);
  for (const auto& name : rkhs::kernels::kernel_names()) {
    SCOPED_TRACE(name);
    const auto k = rkhs::kernels::make_kernel(name);
    const auto expected = k->gram(x, y);
    const auto got = k->gram(x.to(device()), y.to(device()));
    EXPECT_EQ(got.device().type(), device().type());
    EXPECT_LT(max_abs_diff(got, expected), 1e-9);
  }
}

// Every head: forward and backward on the device, the CPU's logits from the same initial parameters.
TEST(Device, EveryHeadForwardAndBackward) {
  for (const auto& name : rkhs::classify::head_names()) {
    SCOPED_TRACE(name);
    rkhs::classify::HeadOptions o;
    o.name = name;
    o.dim = 6;
    o.classes = 4;
    torch::manual_seed(1);
    auto cpu_head = rkhs::classify::make_head(o);
    torch::manual_seed(1);
    auto head = on_device([&] { return rkhs::classify::make_head(o); });
    head->to(device());
    torch::manual_seed(2);
    const auto z = torch::randn({5, 6});
    const auto logits = head->forward(z.to(device()));
    EXPECT_EQ(logits.device().type(), device().type());
    const auto cpu_logits = cpu_head->forward(z);
    EXPECT_LT(max_abs_diff(logits, cpu_logits), 1e-4);
    torch::nn::functional::cross_entropy(logits, torch::arange(5).remainder(4).to(device())).backward();
    torch::nn::functional::cross_entropy(cpu_logits, torch::arange(5).remainder(4)).backward();
    const auto params = head->named_parameters(), cpu_params = cpu_head->named_parameters();
    for (const auto& p : params) {
      SCOPED_TRACE(p.key());
      ASSERT_TRUE(p.value().grad().defined());
      EXPECT_EQ(p.value().grad().device().type(), device().type());
      EXPECT_LT(max_abs_diff(p.value().grad(), cpu_params[p.key()].grad()), 1e-4);
    }
    head->describe();
  }
}

// The Monte Carlo NN-GP kernels draw their networks on the CPU from the seed and evaluate them on the inputs'
// device: the same kernel values there.
TEST(Device, MonteCarloKernelsFollowTheirInputs) {
  rkhs::spectral::NNGPOptions mlp;
  mlp.input_dim = 3;
  mlp.samples = 64;
  const rkhs::spectral::NNGPMonteCarloKernel k(mlp);
  const auto x = torch::randn({6, 3}, torch::kFloat64);
  const auto g = k.gram(x.to(device()), x.to(device()));
  EXPECT_EQ(g.device().type(), device().type());
  EXPECT_LT(max_abs_diff(g, k.gram(x, x)), 1e-5);

  rkhs::spectral::CNNGPOptions cnn;
  cnn.height = cnn.width_px = 12;
  cnn.conv = 3;
  cnn.width = 2;
  cnn.hidden = 3;
  cnn.samples = 40;  // more than one group of networks
  const rkhs::spectral::CNNGPMonteCarloKernel kc(cnn);
  const auto images = torch::randn({3, 144});
  const auto gc = kc.gram(images.to(device()), images.to(device()));
  EXPECT_EQ(gc.device().type(), device().type());
  EXPECT_LT(max_abs_diff(gc, kc.gram(images, images)), 1e-3);
}

// The empirical NTK of a network on the device, by both methods: the CPU's features (the finite differences'
// directions are drawn on the CPU from the seed).
TEST(Device, NtkFeaturesOnTheDevice) {
  torch::manual_seed(3);
  torch::nn::Linear cpu_layer(4, 1);
  cpu_layer->to(torch::kFloat64);
  auto layer = on_device([&] { return torch::nn::Linear(4, 1); });
  layer->to(device(), torch::kFloat64);
  {
    torch::NoGradGuard g;
    layer->weight.copy_(cpu_layer->weight.to(device()));
    layer->bias.copy_(cpu_layer->bias.to(device()));
  }
  auto net = [](torch::nn::Linear l) { return [l](const at::Tensor& x) mutable { return l(x.tanh()).squeeze(1); }; };
  const auto x = torch::randn({5, 4}, torch::kFloat64);
  for (const std::string method : {"finite-differences", "jacobian"}) {
    SCOPED_TRACE(method);
    rkhs::spectral::NTKOptions o;
    o.method = method;
    o.samples = 16;
    const auto expected = rkhs::spectral::ntk_features(net(cpu_layer), cpu_layer->parameters(), x, o);
    const auto got = rkhs::spectral::ntk_features(net(layer), layer->parameters(), x.to(device()), o);
    EXPECT_EQ(got.device().type(), device().type());
    EXPECT_LT(max_abs_diff(got, expected), 1e-4);
  }
}

// rkhs classify: every optimizer (first order, Kernel SGD's preconditioner, the Hessian-vector products of ESGD and
// AdaHessian, L-BFGS) with a few heads trains on the device.
TEST(Device, ClassifyJob) {
  RKHS_SKIP_JOB_ON_LAZY_2X();
  struct Case {
    std::string head, optimizer;
  };
  for (const auto& [head, optimizer] : {Case{"kernelized", "momentum"}, Case{"softmax", "adam"},
                                        Case{"softmax", "kernel-sgd"}, Case{"kernelized", "adahessian"},
                                        Case{"mkl", "esgd"}, Case{"sop", "adamw"}, Case{"softmax", "sgd"},
                                        Case{"softmax", "lbfgs"}}) {
    SCOPED_TRACE(head + " " + optimizer);
    rkhs::jobs::ClassifyConfig c;
    c.data.spec = "sphere";
    c.data.train_size = 256;
    c.data.test_size = 128;
    c.data.seed = 1;
    c.head.name = head;
    c.train.optimizer = optimizer;
    c.train.lr = optimizer == "adam" || optimizer == "adamw" ? 0.05 : optimizer == "lbfgs" ? 1 : 0.5;
    c.train.lbfgs_max_iter = 2;      // each L-BFGS iteration reads values back: slow on the lazy device
    c.train.kernel_sgd.damping = 1;  // the default kernel's batch matrices are near singular on this data
    c.train.epochs = 2;
    c.train.batch_size = 64;
    c.train.progress = false;
    c.train.device = device();
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const auto r = on_device([&] { return rkhs::jobs::run_classify(c); });
      std::printf("%s %s: %.1f s\n", head.c_str(), optimizer.c_str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      EXPECT_TRUE(std::isfinite(r.test.nll));
      EXPECT_GT(r.test.accuracy, 0.6);  // above chance (0.5, two classes) after two short epochs
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

namespace {

// Two classes of 8x8 images: horizontal and vertical stripes with a random phase (the CLI test's set).
std::string stripes_csv() {
  const auto path = temp_dir("stripes") + ".csv";
  std::ofstream out(path);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int n = 0; n < 160; ++n) {
    const int c = n % 2;
    const double phase = u(rng) * 6.28;
    out << c;
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) out << "," << std::sin((c ? j : i) * 1.57 + phase) + 0.3 * (u(rng) - 0.5);
    out << "\n";
  }
  return path;
}

}  // namespace

// rkhs ckn: the unsupervised pipeline (k-means filters, features, classifier) and a supervised epoch.
TEST(Device, CknJob) {
  RKHS_SKIP_JOB_ON_LAZY_2X();
  const auto csv = stripes_csv();
  for (const std::string mode : {"unsupervised", "supervised"}) {
    SCOPED_TRACE(mode);
    rkhs::jobs::CknConfig c;
    c.data.spec = "csv:" + csv;
    c.image_shape = "1x8x8";
    c.net.filters = {4, 8};
    c.net.patch = {3};
    c.net.subsample = {2, 2};
    c.unsupervised.patches = 500;
    c.mode = mode;
    c.supervised.epochs = 1;
    c.supervised.batch_size = 32;
    c.logistic.lambdas = {0.01};
    c.seed = 2;
    c.progress = false;
    c.device = device_name();
    const auto r = on_device([&] { return rkhs::jobs::run_ckn(c); });
    EXPECT_GT(r.test_accuracy, 0.8);
  }
  std::filesystem::remove(csv);
}

// rkhs eigen: NeuralEF, SpIN and Nystrom on the 1-D RBF kernel, and NeuralEF on a Monte Carlo NN-GP kernel.
TEST(Device, EigenJob) {
  struct Case {
    std::string method, kernel;
  };
  for (const auto& [method, kernel] : {Case{"neuralef", "rbf"}, Case{"spin", "rbf"}, Case{"nystrom", "rbf"},
                                       Case{"neuralef", "nngp-mlp"}}) {
    SCOPED_TRACE(method + " " + kernel);
    rkhs::jobs::EigenConfig c;
    c.method = method;
    c.kernel = kernel;
    c.n = 256;
    c.heldout = 64;
    c.k = 3;
    c.mc_samples = 64;
    c.train.iterations = 60;
    c.train.batch_size = 64;
    c.progress = false;
    c.device = device_name();
    c.out_dir = temp_dir("eigen");
    const auto r = on_device([&] { return rkhs::jobs::run_eigen(c); });
    ASSERT_EQ(r.eigenvalues.size(), 3u);
    for (double v : r.eigenvalues) EXPECT_TRUE(std::isfinite(v));
    EXPECT_GT(r.eigenvalues[0], 0);
    EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/eigenfunctions.csv"));
    std::filesystem::remove_all(c.out_dir);
  }
}

// rkhs embed: the 2-D embedding network as a classifier on moons.
TEST(Device, EmbedJob) {
  RKHS_SKIP_JOB_ON_LAZY_2X();
  rkhs::jobs::EmbedConfig c;
  c.data.spec = "moons";
  c.data.train_size = 300;
  c.data.test_size = 100;
  c.net.encoder = {16};
  c.net.decoder = {16};
  c.net.grid = 6;
  c.epochs = 10;
  c.progress = false;
  c.device = device_name();
  c.out_dir = temp_dir("embed");
  const auto r = on_device([&] { return rkhs::jobs::run_embed(c); });
  EXPECT_GT(r.knn_accuracy, 0.7);  // the plane separates the moons after 10 epochs (0.93 on the CPU)
  EXPECT_GE(r.test_accuracy, 0.4);
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/embedding.csv"));
  std::filesystem::remove_all(c.out_dir);
}

// rkhs recommend: the sparse-FC and kernelNet AutoRecs (sparse products, L-BFGS outer loops, the shrinkage).
TEST(Device, RecommendJob) {
  RKHS_SKIP_JOB_ON_LAZY_2X();
  for (const std::string model : {"sparse-fc", "kernelnet"}) {
    SCOPED_TRACE(model);
    rkhs::jobs::RecommendConfig c;
    c.data = std::string("movielens:") + RKHS_FIXTURES + "/ml100k_u1.base";
    c.test = std::string(RKHS_FIXTURES) + "/ml100k_u1.test";
    c.model = model;
    c.autorec.hidden = 16;
    c.autorec.outer_loops = 2;
    c.autorec.lbfgs_iterations = 5;
    c.autorec.progress = false;
    c.lambda2_auto = false;
    const auto expected = rkhs::jobs::run_recommend(c);  // on the CPU, from the same initial weights
    c.device = device_name();
    const auto r = on_device([&] { return rkhs::jobs::run_recommend(c); });
    EXPECT_TRUE(std::isfinite(r.fit.test_rmse));
    EXPECT_NEAR(r.fit.test_rmse, expected.fit.test_rmse, 1e-3);
    EXPECT_NEAR(r.fit.train_rmse, expected.fit.train_rmse, 1e-3);
  }
}
