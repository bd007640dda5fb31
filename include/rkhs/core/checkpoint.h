#pragma once
// Training checkpoints: model state, optimizer state, epoch, JSON metadata and extra named tensors in one file
// written atomically with torch::serialize::OutputArchive.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>


namespace rkhs::core {

inline constexpr const char* kCheckpointFormat = "rkhs-checkpoint";
inline constexpr int64_t kCheckpointVersion = 2;

// An optimizer of the project's own names its kind (written into checkpoints and checked on loading); LibTorch's
// optimizers are named by their class.
class NamedOptimizer {
 public:
  virtual ~NamedOptimizer() = default;
  virtual std::string kind() const = 0;
};

// File layout (version 2): a 24-byte header, "RKHSCKPT", the version (uint32), the payload size (uint64) and the
// CRC-32 of the payload (uint32), little-endian, then the payload: one LibTorch archive. Archive layout: "format" (str), "version" (int), "epoch" (int), "meta" (str, JSON), "model" (Dict[str,
// Tensor] of named_state), "extra" (Dict[str, Tensor]), "optimizer" (nested archive of Optimizer::save).
// Written to path + ".tmp.<pid>", fsync'ed, then renamed over path, so a crash never leaves a partial file.
void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& opt,
                     int64_t epoch, const std::string& meta_json,
                     const std::map<std::string, at::Tensor>& extra = {});

struct CheckpointInfo {
  int64_t epoch = 0;
  std::string meta_json;
  std::map<std::string, at::Tensor> extra;  // on the device of the model's first parameter (CPU if none)
};

// Restores model and optimizer from `path`. Throws rkhs::Error when the file is missing, corrupt or truncated
// ("checkpoint PATH is corrupt or truncated: ..."; any changed or missing byte fails the size or CRC check
// before LibTorch parses anything), has another format/version, or was written for another
// architecture (names the first missing, unexpected or differently shaped parameter); the model is unchanged
// in those cases. Tensors are loaded onto the device of the model's first parameter.
CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& opt);

// The JSON metadata of the checkpoint at `path`, with the same checks of the file as load_checkpoint (missing,
// corrupt, truncated, another format or version) but without a model.
std::string read_checkpoint_meta(const std::string& path);

}  // namespace rkhs::core
