#pragma once
// Modules built on LibTorch's lazy device (tests/device only).
//
// The lazy TorchScript backend is a second device kind on every machine, so code that creates a tensor on the CPU
// and mixes it with a module's or an input's tensors fails there without a GPU. LibTorch's C++ Module::to cannot
// move parameters to it (Variable::set_data refuses the lazy tensor type), so this test binary builds modules on
// the device instead: while a LazyModules scope is alive on a thread, every parameter and buffer that a module
// registers (rkhs's own and LibTorch's Linear, Conv2d, BatchNorm2d...) is moved to the lazy device as it is
// registered (lazy_modules.cpp interposes torch::nn::Module::register_parameter/register_buffer in this binary).
// A later module->to(lazy) is then a no-op. Mixing a CPU tensor into a lazy operation aborts the test with
// "Input tensor is not a lazy tensor: CPUFloatType" and a stack trace naming the operation.

namespace rkhs::test {

class LazyModules {
 public:
  LazyModules();
  ~LazyModules();
  LazyModules(const LazyModules&) = delete;
  LazyModules& operator=(const LazyModules&) = delete;

 private:
  bool previous_;
};

}  // namespace rkhs::test
