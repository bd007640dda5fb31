// Interposes torch::nn::Module::register_parameter and register_buffer in the device test binary (see
// lazy_modules.h). The definitions follow LibTorch's own (torch/csrc/api/src/nn/module.cpp): the same checks, the
// same insertion; the only addition is the move to the lazy device inside a LazyModules scope. The dynamic linker
// binds LibTorch's own calls (LinearImpl::reset, ...) to these definitions too, as the executable comes first.
#include "lazy_modules.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include "rkhs/compat.h"

namespace rkhs::test {
namespace {
thread_local bool lazy_scope = false;
}  // namespace

LazyModules::LazyModules() : previous_(lazy_scope) {
  compat::lazy_device();  // initialises the backend (throws where LibTorch has none)
  lazy_scope = true;
}
LazyModules::~LazyModules() { lazy_scope = previous_; }

}  // namespace rkhs::test

namespace torch::nn {

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  TORCH_CHECK(!name.empty(), "Parameter name must not be empty");
  TORCH_CHECK(name.find('.') == std::string::npos, "Parameter name must not contain a dot (got '", name, "')");
  if (!tensor.defined()) {
    if (requires_grad) TORCH_WARN("An undefined tensor cannot require grad. ", "Ignoring the `requires_grad=true` function parameter.");
  } else {
    if (rkhs::test::lazy_scope && !tensor.device().is_lazy()) tensor = tensor.detach().to(c10::Device(c10::kLazy));
    tensor.set_requires_grad(requires_grad);
  }
  return parameters_.insert(std::move(name), std::move(tensor));
}

Tensor& Module::register_buffer(std::string name, Tensor tensor) {
  TORCH_CHECK(!name.empty(), "Register buffer name must not be empty");
  TORCH_CHECK(name.find('.') == std::string::npos, "Buffer name must not contain a dot (got '", name, "')");
  if (rkhs::test::lazy_scope && tensor.defined() && !tensor.device().is_lazy())
    tensor = tensor.to(c10::Device(c10::kLazy));
  return buffers_.insert(std::move(name), std::move(tensor));
}

}  // namespace torch::nn

// The interposition is in effect: inside a scope, LibTorch's own modules (whose reset() registers their
// parameters from inside libtorch) and buffers land on the lazy device; outside it, modules stay on the CPU.
TEST(LazyModules, ScopeBuildsModulesOnTheLazyDevice) {
  {
    rkhs::test::LazyModules scope;
    torch::nn::Linear linear(3, 2);
    torch::nn::BatchNorm1d norm(2);
    EXPECT_TRUE(linear->weight.device().is_lazy());
    EXPECT_TRUE(linear->bias.device().is_lazy());
    EXPECT_TRUE(norm->running_mean.device().is_lazy());
    EXPECT_TRUE(linear->weight.requires_grad());
  }
  torch::nn::Linear after(3, 2);
  EXPECT_TRUE(after->weight.device().is_cpu());
}
