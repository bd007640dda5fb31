// CpuAdam against LibTorch's torch::optim::Adam: the same trajectory over steps with changing gradients and a
// learning rate changed in between; parameters without a gradient are left alone; bad parameters are refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "rkhs/core/cpu_adam.h"
#include "rkhs/error.h"

TEST(CpuAdam, FollowsTorchAdamStepForStep) {
  torch::manual_seed(7);
  std::vector<at::Tensor> mine = {torch::randn({3, 5}), torch::randn({7}), torch::randn({2, 2, 2})};
  std::vector<at::Tensor> theirs;
  for (const auto& p : mine) theirs.push_back(p.clone());
  for (auto& p : mine) p.requires_grad_(true);
  for (auto& p : theirs) p.requires_grad_(true);
  rkhs::core::CpuAdam a(mine, 1e-2);
  torch::optim::Adam b(theirs, torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 40; ++step) {
    if (step == 20) {  // as the cosine schedule does
      a.set_lr(3e-3);
      static_cast<torch::optim::AdamOptions&>(b.param_groups()[0].options()).lr(3e-3);
    }
    for (size_t i = 0; i < mine.size(); ++i) {
      auto g = torch::randn(mine[i].sizes()) * (1 + step % 3);
      mine[i].mutable_grad() = g.clone();
      theirs[i].mutable_grad() = g.clone();
    }
    a.step();
    b.step();
  }
  for (size_t i = 0; i < mine.size(); ++i)
    EXPECT_TRUE(torch::allclose(mine[i], theirs[i], 1e-5, 1e-6)) << (mine[i] - theirs[i]).abs().max().item<float>();
  // 40 steps of size ~1e-2 moved every entry: a no-op optimiser would fail the comparison above.
  auto untouched = torch::randn({4});
  auto kept = untouched.clone();
  rkhs::core::CpuAdam c({untouched}, 1e-2);
  c.step();  // no gradient: nothing changes
  EXPECT_TRUE(torch::equal(untouched, kept));
}

TEST(CpuAdam, RefusesWhatItCannotHold) {
  EXPECT_FALSE(rkhs::core::CpuAdam::supports({torch::randn({3}, torch::kFloat64)}));
  EXPECT_FALSE(rkhs::core::CpuAdam::supports({torch::randn({3, 4}).t()}));
  EXPECT_TRUE(rkhs::core::CpuAdam::supports({torch::randn({3, 4})}));
  EXPECT_THROW(rkhs::core::CpuAdam({torch::randn({3}, torch::kFloat64)}, 1e-3), rkhs::Error);
  EXPECT_THROW(rkhs::core::CpuAdam({torch::randn({3})}, 0), rkhs::Error);
}
