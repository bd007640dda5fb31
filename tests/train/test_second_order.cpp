// The trainer with paper 001's optimizers: Kernel SGD, ESGD and AdaHessian train; Kernel SGD changes only the
// last layer; the stopping rule; state and preconditioner memory.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rkhs/classify/head.h"
#include "rkhs/error.h"
#include "rkhs/nn/backbone.h"
#include "rkhs/train/optimizer.h"
#include "rkhs/train/trainer.h"
#include "toy.h"

using rkhs::train::Trainer;
using rkhs::train::TrainOptions;

namespace {

TrainOptions quiet(const std::string& optimizer, double lr, int64_t epochs) {
  auto o = toy::quiet(optimizer, lr, epochs);
  o.schedule = "constant";
  o.seed = 3;
  return o;
}

// An MLP backbone (2 -> 8 -> 6) with a linear head: parameters in the backbone and the last layer.
std::shared_ptr<rkhs::classify::ClassifierImpl> mlp_model(uint64_t seed) {
  torch::manual_seed(seed);
  rkhs::nn::BackboneOptions b;
  b.name = "mlp";
  b.input_shape = {2};
  b.hidden = {8, 6};
  auto backbone = rkhs::nn::make_backbone(b);
  return std::make_shared<rkhs::classify::ClassifierImpl>(backbone, std::make_shared<toy::LinearHead>(6, 2));
}

}  // namespace

class SecondOrderFit : public ::testing::TestWithParam<std::string> {};

TEST_P(SecondOrderFit, LearnsASeparableProblem) {
  auto o = quiet(GetParam(), GetParam() == "adahessian" ? 0.05 : 0.1, 15);
  o.kernel_sgd.kernel = "rbf:gamma=20";  // 2-D toy points are close: a wide RBF makes H near-singular
  auto data = toy::separable(256, 2);
  auto model = mlp_model(1);
  auto result = Trainer(model, o).fit(data);
  EXPECT_GT(result.history.back().train.accuracy, 0.95) << GetParam();
  EXPECT_GT(result.optimizer_state_bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, SecondOrderFit, ::testing::Values("esgd", "adahessian", "kernel-sgd"));

TEST(KernelSgdFit, OneFullBatchStepChangesOnlyTheLastLayerRelativeToSgd) {
  auto data = toy::separable(40, 4);
  auto run = [&](const std::string& optimizer, bool fixed) {
    auto o = quiet(optimizer, 0.5, 1);
    o.batch_size = 64;  // one batch: the same data for both optimizers
    o.kernel_sgd.fixed_batches = fixed;
    o.kernel_sgd.kernel = "rbf:gamma=0.5";
    auto model = mlp_model(7);
    Trainer(model, o).fit(data);
    return model;
  };
  auto sgd = run("sgd", false);
  for (bool fixed : {false, true}) {
    auto ksgd = run("kernel-sgd", fixed);
    auto a = sgd->named_parameters(), b = ksgd->named_parameters();
    for (const auto& item : a) {
      const bool last = item.key() == "head.weight";
      const bool same = torch::allclose(item.value(), b[item.key()], 1e-5, 1e-6);
      EXPECT_EQ(same, !last) << item.key() << " fixed=" << fixed;
    }
  }
}

TEST(KernelSgdFit, AllLayersPreconditionsEveryWeightMatrix) {
  auto model = mlp_model(1);
  auto last = rkhs::train::kernel_sgd_parameters(*model, false);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_TRUE(last[0].is_same(model->head->named_parameters()["weight"]));
  EXPECT_EQ(rkhs::train::kernel_sgd_parameters(*model, true).size(), 3u);  // fc0, fc1, head
}

TEST(KernelSgdFit, PrecomputedInversesAreCountedAsTheHessianMemory) {
  auto data = toy::separable(100, 5);
  auto o = quiet("kernel-sgd", 0.1, 2);
  o.kernel_sgd.kernel = "rbf:gamma=20";  // 2-D toy points are close: a wide RBF makes H near-singular
  auto model = mlp_model(2);
  auto fixed = Trainer(model, o).fit(data);
  // Batches of 32, 32, 32, 4 -> (3 * 32^2 + 4^2) float32 inverses, computed once for the whole run.
  EXPECT_EQ(fixed.preconditioner_bytes, (3 * 32 * 32 + 16) * 4);
  EXPECT_EQ(fixed.inverses, 4);
  EXPECT_EQ(fixed.optimizer_state_bytes, fixed.preconditioner_bytes);  // no momentum: no other state
  o.kernel_sgd.fixed_batches = false;
  o.kernel_sgd.momentum = 0.5;
  auto fresh = Trainer(mlp_model(2), o).fit(data);
  EXPECT_EQ(fresh.inverses, 8);                         // one per step
  EXPECT_EQ(fresh.preconditioner_bytes, 4 * 4 * 8);     // only the last (float64) one is held
}

// A head whose only parameter is not called "weight": nothing for eq. 5 to precondition.
class PrototypeHead : public rkhs::classify::HeadImpl {
 public:
  PrototypeHead() { proto = register_parameter("proto", torch::randn({2, 6})); }
  torch::Tensor forward(const torch::Tensor& z) override { return torch::mm(z, proto.t()); }
  std::string describe() const override { return "prototypes"; }
  torch::Tensor proto;
};

TEST(KernelSgdFit, HeadWithoutWeightMatrixIsAClearError) {
  torch::manual_seed(0);
  rkhs::nn::BackboneOptions b;
  b.name = "mlp";
  b.input_shape = {2};
  b.hidden = {6};
  auto model = std::make_shared<rkhs::classify::ClassifierImpl>(rkhs::nn::make_backbone(b), std::make_shared<PrototypeHead>());
  try {
    Trainer(model, quiet("kernel-sgd", 0.1, 1)).fit(toy::separable(20, 1));
    FAIL() << "expected rkhs::Error";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("prototypes"), std::string::npos) << e.what();
  }
}

TEST(StoppingRule, StopsAfterPatienceEpochsOfSmallLossChanges) {
  auto data = toy::separable(64, 6);
  auto o = quiet("sgd", 0.1, 20);
  o.converge_tol = 1e9;  // every change counts as small
  auto r = Trainer(toy::linear_model(2, 2), o).fit(data);
  EXPECT_EQ(r.converged_epoch, 4);  // epochs 2, 3, 4 each changed by < tol
  EXPECT_EQ(r.epochs_run, 4);
  o.converge_tol = 1e-12;  // never
  o.epochs = 5;
  auto never = Trainer(toy::linear_model(2, 2), o).fit(data);
  EXPECT_EQ(never.converged_epoch, 0);
  EXPECT_EQ(never.epochs_run, 5);
}

TEST(OptimizerState, BytesOfMomentumAdamAndPlainSgd) {
  auto data = toy::separable(64, 6);
  const int64_t param_bytes = (2 * 2 + 2 + 1) * 4;  // toy linear head: weight, bias, scale
  EXPECT_EQ(Trainer(toy::linear_model(2, 2), quiet("sgd", 0.1, 1)).fit(data).optimizer_state_bytes, 0);
  EXPECT_EQ(Trainer(toy::linear_model(2, 2), quiet("momentum", 0.1, 1)).fit(data).optimizer_state_bytes, param_bytes);
  EXPECT_EQ(Trainer(toy::linear_model(2, 2), quiet("adam", 0.1, 1)).fit(data).optimizer_state_bytes, 2 * param_bytes);
  EXPECT_EQ(Trainer(toy::linear_model(2, 2), quiet("esgd", 0.1, 1)).fit(data).optimizer_state_bytes, param_bytes);
}
