#pragma once
// Named model state (parameters and buffers) and model weight files.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rkhs::core {

// Parameters then buffers of `module` (recursive), by name as in named_parameters()/named_buffers().
std::vector<std::pair<std::string, at::Tensor>> named_state(const torch::nn::Module& module);

// Deep copy (detached clones) of named_state(module), on the tensors' current device.
std::map<std::string, at::Tensor> copy_state(const torch::nn::Module& module);

// Copies `state` into module's parameters and buffers in place (no gradient). Every name of named_state(module)
// must be present with the same shape, and `state` must have no other names; otherwise throws rkhs::Error
// "SOURCE: ... parameter 'NAME' ..." naming the first offending parameter. Nothing is changed on error.
void assign_state(torch::nn::Module& module, const std::map<std::string, at::Tensor>& state,
                  const std::string& source);
// The checks of assign_state without copying anything.
void check_state(const torch::nn::Module& module, const std::map<std::string, at::Tensor>& state,
                 const std::string& source);

// Writes named_state(module) on the CPU as a dict {name: tensor} with torch::pickle_save (from Python: rkhs.
// load_model_state, or torch.load(path, weights_only=False)), atomically (temporary file, fsync, rename).
void save_weights(const std::string& path, const torch::nn::Module& module);
// The {name: tensor} dict of a file written by save_weights (or by Python's rkhs.save_model_state), CPU tensors.
// Throws rkhs::Error for a missing, corrupt or truncated file or one that holds anything else.
std::map<std::string, at::Tensor> read_weights(const std::string& path);
// Reads a file written by save_weights into module (read_weights, then assign_state). Throws rkhs::Error for a
// missing, corrupt or mismatching file.
void load_weights(const std::string& path, torch::nn::Module& module);

// Writes `bytes` to `path` atomically: path + ".tmp.<pid>", fsync, rename over path, fsync of the folder.
// Throws rkhs::Error naming the path and errno text on failure (the temporary file is removed).
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace rkhs::core
