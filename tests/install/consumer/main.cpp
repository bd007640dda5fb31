// Uses rkhs as a library: a kernel from the registry and the kernelized classification layer as a
// drop-in head, one SGD step.
#include <torch/torch.h>

#include <iostream>

#include <rkhs/classify/kcl.h>
#include <rkhs/kernels/kernel.h>

int main() {
  torch::manual_seed(0);
  auto k = rkhs::kernels::make_kernel("rbf:gamma=0.5");
  auto x = torch::randn({5, 3});
  auto g = k->gram(x, x);
  if (g.sizes() != torch::IntArrayRef({5, 5})) return 1;

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
  if (!(loss1.item<double>() < loss0.item<double>())) return 2;
  std::cout << "consumer ok\n";
  return 0;
}
