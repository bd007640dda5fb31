// Uses rkhs as a library: a kernel from the registry, the kernelized classification layer as a drop-in head
// (one SGD step), one Kernel SGD step on a linear layer (paper 001), a CKN layer (paper 003) and Nystrom
// eigenpairs (paper 002). Every check (ASSERT_OR_EXIT) exits with its own non-zero code and a message on
// failure (assert() would vanish in the Release build this is compiled in).
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <iostream>

#include <rkhs/ckn/layer.h>
#include <rkhs/classify/kcl.h>
#include <rkhs/kernels/kernel.h>
#include <rkhs/optim/kernel_preconditioner.h>
#include <rkhs/optim/kernel_sgd.h>
#include <rkhs/spectral/nystrom.h>

namespace {

void fail(int code, const char* what, const char* expression, int line) {
  std::cerr << "consumer check " << code << " failed (line " << line << "): " << what << "\n  " << expression << "\n";
  std::exit(code);
}

}  // namespace

// ASSERT_OR_EXIT(condition, code, what): exits with `code` and prints `what` and the condition when it is false
// (kept in Release builds, unlike assert()).
#define ASSERT_OR_EXIT(condition, code, what)              \
  do {                                                     \
    if (!(condition)) fail(code, what, #condition, __LINE__); \
  } while (0)

int main() {
  torch::manual_seed(0);
  auto k = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  auto x = torch::randn({5, 3});
  auto g = k->gram(x, x);
  ASSERT_OR_EXIT(g.sizes() == torch::IntArrayRef({5, 5}), 1, "the gram matrix of 5 points is 5 x 5");

  rkhs::classify::HeadOptions options;
  options.name = "kernelized";
  options.dim = 3;
  options.classes = 4;
  auto head = rkhs::classify::make_head(options);
  torch::optim::SGD opt(head->parameters(), torch::optim::SGDOptions(0.1));
  auto labels = torch::tensor({0, 1, 2, 3, 0}, torch::kLong);
  auto loss0 = torch::cross_entropy_loss(head->forward(x), labels);
  opt.zero_grad();
  loss0.backward();
  opt.step();
  auto loss1 = torch::cross_entropy_loss(head->forward(x), labels);
  std::cout << head->describe() << " loss " << loss0.item<double>() << " -> " << loss1.item<double>() << "\n";
  ASSERT_OR_EXIT(loss1.item<double>() < loss0.item<double>(), 2, "one SGD step lowers the KCL head's loss");

  // Kernel SGD: W <- W - lr * grad_W . H^-1 with H the RBF matrix of the batch inputs (m = 5 > d_in = 3).
  torch::nn::Linear layer(3, 4);
  rkhs::optim::KernelSGD ksgd({torch::optim::OptimizerParamGroup(layer->parameters())},
                              rkhs::optim::GroupOptions(/*lr=*/0.1, /*weight_decay=*/0), {layer->weight},
                              rkhs::optim::KernelSgdMode::faithful);
  rkhs::optim::PreconditionerOptions pre_options;
  pre_options.kernel = "rbf:gamma=0.5";
  rkhs::optim::KernelPreconditioner pre(pre_options);
  auto before = torch::cross_entropy_loss(layer->forward(x), labels);
  ksgd.zero_grad();
  before.backward();
  ksgd.set_inverse(pre.inverse(x, /*batch_id=*/0).to(torch::kFloat32));
  ksgd.step();
  auto after = torch::cross_entropy_loss(layer->forward(x), labels);
  std::cout << "kernel-sgd loss " << before.item<double>() << " -> " << after.item<double>() << "\n";
  ASSERT_OR_EXIT(std::isfinite(after.item<double>()) && after.item<double>() < before.item<double>(), 3,
              "one Kernel SGD step lowers the loss");

  // CKN layer: 1 -> 4 filters, 3x3 patches, subsampling 2: (2, 1, 7, 7) -> (2, 4, 4, 4).
  rkhs::ckn::LayerOptions ckn_options;
  ckn_options.filters = 4;
  rkhs::ckn::CKNLayer ckn(ckn_options);
  auto maps = ckn->forward(torch::randn({2, 1, 7, 7}));
  ASSERT_OR_EXIT(maps.sizes() == torch::IntArrayRef({2, 4, 4, 4}) && torch::isfinite(maps).all().item<bool>(), 4,
              "the CKN layer maps (2, 1, 7, 7) to finite (2, 4, 4, 4)");

  // Nystrom eigenpairs of the linear kernel: mu_j = s_j^2 / N for the singular values s of the data.
  auto pts = torch::randn({50, 3}, torch::kFloat64);
  auto eig = rkhs::spectral::nystrom_eigen(rkhs::kernels::make_kernel("linear"), pts, 2);
  auto s = std::get<1>(at::linalg_svd(pts, false));
  ASSERT_OR_EXIT(torch::allclose(eig.eigenvalues, s.slice(0, 0, 2).square() / 50.0), 5,
              "Nystrom eigenvalues of the linear kernel are the squared singular values / N");
  std::cout << "consumer ok\n";
  return 0;
}
