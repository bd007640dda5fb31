#pragma once
// The only place that knows LibTorch 1.13 (Debian's libtorch-dev, CPU) from LibTorch 2.x (PyTorch's wheel,
// CUDA). Everything else calls these helpers instead of testing TORCH_VERSION_* itself.
#include <torch/version.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <string>

#define RKHS_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace rkhs::compat {

// "1.13.0", "2.11.0", ...
std::string torch_version();

// True when a CUDA device can be used by this build.
bool cuda_available();

// Parses "cpu", "cuda", "cuda:1" into a device; throws rkhs::Error for unknown names or CUDA without a GPU.
c10::Device parse_device(const std::string& name);

// Symmetric eigendecomposition (ascending eigenvalues): torch::linalg::eigh in both versions, kept here
// because its header moved between versions.
std::tuple<at::Tensor, at::Tensor> eigh(const at::Tensor& a);

// Moore-Penrose pseudo-inverse of a (batched) matrix with the relative cut-off rcond.
at::Tensor pinv(const at::Tensor& a, double rcond = 1e-10);

}  // namespace rkhs::compat
