#pragma once
// The output folder of one run (--out DIR): config, metrics per epoch as CSV, model weights + JSON sidecar.
#include <torch/nn/module.h>

#include <string>

#include "rkhs/train/trainer.h"

namespace rkhs::train {

class RunFolder {
 public:
  // Creates `dir` (and parents) if needed; throws rkhs::Error when that fails.
  explicit RunFolder(std::string dir);
  // Writes dir/name atomically (temporary file + rename).
  void write_text(const std::string& name, const std::string& content);
  // Appends one row to dir/metrics.csv, writing the header first when the file does not exist yet:
  // epoch,lr,train_loss,train_accuracy,train_nll,train_ece,val_accuracy,val_nll,val_ece,seconds
  // (validation columns empty without validation; numbers with 10 significant digits).
  void append_epoch(const EpochRecord& record);
  // dir/model.pt (save_weights: a {name: tensor} dict, torch.load-able) and dir/model.json (sidecar_json).
  void save_model(torch::nn::Module& model, const std::string& sidecar_json);
  const std::string& path() const { return dir_; }
  // dir/name
  std::string file(const std::string& name) const;

 private:
  std::string dir_;
};

// The CSV header and one row of metrics.csv (without the trailing newline).
std::string metrics_csv_header();
std::string metrics_csv_row(const EpochRecord& record);

}  // namespace rkhs::train
