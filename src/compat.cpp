#include "rkhs/compat.h"

#include "rkhs/error.h"

#include <ATen/ops/linalg_eigh.h>
#include <ATen/ops/linalg_pinv.h>
#include <torch/cuda.h>

#include <mutex>

// LibTorch's lazy-tensor backend over TorchScript: a second device kind on every machine (it computes on the
// CPU), used to check that code keeps every tensor on its inputs' device without a GPU (tests/device).
#if __has_include(<torch/csrc/lazy/ts_backend/ts_backend_impl.h>) && __has_include(<torch/csrc/lazy/core/lazy_graph_executor.h>)
#include <torch/csrc/lazy/core/lazy_graph_executor.h>
#include <torch/csrc/lazy/ts_backend/ts_backend_impl.h>
#define RKHS_HAS_LAZY 1
#else
#define RKHS_HAS_LAZY 0
#endif

namespace rkhs::compat {

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

bool cuda_available() { return torch::cuda::is_available(); }

bool lazy_available() { return RKHS_HAS_LAZY != 0; }

c10::Device lazy_device() {
#if RKHS_HAS_LAZY
  static std::once_flag once;
  std::call_once(once, [] { torch::lazy::InitTorchScriptBackend(); });
  return c10::Device(c10::kLazy);
#else
  throw Error("--device lazy: this LibTorch has no lazy TorchScript backend");
#endif
}

void lazy_mark_step() {
#if RKHS_HAS_LAZY
  // What torch._lazy.mark_step() does: compute every live lazy tensor's pending operations and start a new graph.
  const torch::lazy::BackendDevice device;
  auto* executor = torch::lazy::LazyGraphExecutor::Get();
  executor->SyncLiveTensorsGraph(&device, {}, /*wait=*/true);
  executor->MarkStep(device);
#endif
}

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "lazy") return lazy_device();
  if (name.rfind("cuda", 0) == 0) {
    if (!cuda_available()) throw Error("--device " + name + ": this build or machine has no CUDA device");
    try {
      return c10::Device(name);
    } catch (const std::exception&) {
      throw Error("--device " + name + ": not a valid CUDA device name (use cuda or cuda:N)");
    }
  }
  throw Error("--device " + name + ": unknown device (use cpu, cuda or cuda:N)");
}

// ATen's operators (both versions ship ATen/ops/*.h; Debian's LibTorch 2.6 has no torch/linalg.h).
std::tuple<at::Tensor, at::Tensor> eigh(const at::Tensor& a) { return at::linalg_eigh(a, "L"); }

at::Tensor pinv(const at::Tensor& a, double rcond) { return at::linalg_pinv(a, rcond, /*hermitian=*/false); }

}  // namespace rkhs::compat
