#pragma once
// The output folder of one run (--out DIR): config, metrics per epoch as CSV, model weights + JSON sidecar.
#include <torch/nn/module.h>

#include <string>


namespace rkhs::core {

class RunFolder {
 public:
  // Creates `dir` (and parents) if needed; throws rkhs::Error when that fails.
  explicit RunFolder(std::string dir);
  // Writes dir/name atomically (temporary file + rename).
  void write_text(const std::string& name, const std::string& content);
  // Appends one row (without its newline) to dir/name, writing the header first when the file is new or empty.
  void append_csv(const std::string& name, const std::string& header, const std::string& row);
  // dir/model.pt (save_weights: a {name: tensor} dict, torch.load-able) and dir/model.json (sidecar_json).
  void save_model(torch::nn::Module& model, const std::string& sidecar_json);
  const std::string& path() const { return dir_; }
  // dir/name
  std::string file(const std::string& name) const;

 private:
  std::string dir_;
};

}  // namespace rkhs::core
