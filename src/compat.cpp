#include "rkhs/compat.h"

#include "rkhs/error.h"

#include <torch/cuda.h>
#include <torch/linalg.h>

namespace rkhs::compat {

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

bool cuda_available() { return torch::cuda::is_available(); }

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!cuda_available()) throw Error("--device " + name + ": this build or machine has no CUDA device");
    try {
      return c10::Device(name);
    } catch (const std::exception&) {
      throw Error("--device " + name + ": not a valid CUDA device name (use cuda or cuda:N)");
    }
  }
  throw Error("--device " + name + ": unknown device (use cpu or cuda)");
}

std::tuple<at::Tensor, at::Tensor> eigh(const at::Tensor& a) { return torch::linalg::eigh(a, "L"); }

at::Tensor pinv(const at::Tensor& a, double rcond) {
  return torch::linalg::pinv(a, rcond, /*hermitian=*/false);
}

}  // namespace rkhs::compat
