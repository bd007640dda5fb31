#pragma once
// The only place that knows LibTorch 1.13 (Debian's libtorch-dev, CPU) from LibTorch 2.x (PyTorch's wheel,
// CUDA). Everything else calls these helpers instead of testing TORCH_VERSION_* itself.
#include <torch/version.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <string>
#include <type_traits>
#include <utility>

#define RKHS_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace rkhs::compat {

// "1.13.0", "2.11.0", ...
std::string torch_version();

// True when a CUDA device can be used by this build.
bool cuda_available();

// Parses "cpu", "cuda", "cuda:1" or "lazy" into a device; throws rkhs::Error for unknown names or CUDA without
// a GPU.
c10::Device parse_device(const std::string& name);

// LibTorch's lazy TorchScript backend, a second device kind that exists on every machine (it computes on the
// CPU, slowly): code that creates a tensor on the CPU and mixes it with lazy inputs fails there, so tests catch
// device bugs without a GPU (docs/DEVICES.md). lazy_device() initialises the backend once; it throws
// rkhs::Error where the LibTorch build has no such backend (lazy_available() false).
bool lazy_available();
c10::Device lazy_device();
// Ends a step on the lazy device: its pending operations are computed and a new graph starts (without this, the
// traced graph of a training loop grows with every step). No-op without the backend.
void lazy_mark_step();

// Symmetric eigendecomposition (ascending eigenvalues): ATen's linalg_eigh, which every version has. Debian's
// LibTorch 2.6 ships no torch/linalg.h (the torch::linalg:: namespace): use the torch::linalg_* functions.
std::tuple<at::Tensor, at::Tensor> eigh(const at::Tensor& a);

// Moore-Penrose pseudo-inverse of a (batched) matrix with the relative cut-off rcond.
at::Tensor pinv(const at::Tensor& a, double rcond = 1e-10);

// c10d's TCPStoreOptions: LibTorch >= 2.4 asks for the libuv backend by default (useLibUV), which a LibTorch built
// without libuv (Debian's 2.6) refuses before it listens or connects. use_classic_tcp_store turns it off and says
// whether it did (false where the field does not exist, 1.13, or is off already).
template <class Options, class = void>
struct HasUseLibUV : std::false_type {};
template <class Options>
struct HasUseLibUV<Options, std::void_t<decltype(std::declval<Options&>().useLibUV)>> : std::true_type {};

template <class Options>
bool use_classic_tcp_store(Options& options) {
  if constexpr (HasUseLibUV<Options>::value) {
    if (!options.useLibUV) return false;
    options.useLibUV = false;
    return true;
  } else {
    return false;
  }
}

}  // namespace rkhs::compat
