#include "rkhs/train/run_folder.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rkhs/error.h"
#include "rkhs/train/state.h"

namespace rkhs::train {

namespace {
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}
}  // namespace

std::string metrics_csv_header() {
  return "epoch,lr,train_loss,train_accuracy,train_nll,train_ece,val_accuracy,val_nll,val_ece,seconds";
}

std::string metrics_csv_row(const EpochRecord& r) {
  std::string s = std::to_string(r.epoch) + "," + num(r.lr) + "," + num(r.train_loss) + "," + num(r.train.accuracy) +
                  "," + num(r.train.nll) + "," + num(r.train.ece) + ",";
  if (r.validation)
    s += num(r.validation->accuracy) + "," + num(r.validation->nll) + "," + num(r.validation->ece) + ",";
  else
    s += ",,,";
  return s + num(r.seconds);
}

RunFolder::RunFolder(std::string dir) : dir_(std::move(dir)) {
  RKHS_CHECK(!dir_.empty(), "run folder: empty path");
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_))
    throw Error("cannot create run folder " + dir_ + (ec ? ": " + ec.message() : ": not a directory"));
}

std::string RunFolder::file(const std::string& name) const { return (std::filesystem::path(dir_) / name).string(); }

void RunFolder::write_text(const std::string& name, const std::string& content) { write_file_atomic(file(name), content); }

void RunFolder::append_epoch(const EpochRecord& record) {
  const std::string path = file("metrics.csv");
  std::error_code ec;
  const bool fresh = !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
  if (fresh) out << metrics_csv_header() << '\n';
  out << metrics_csv_row(record) << '\n';
  out.flush();
  if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
}

void RunFolder::save_model(torch::nn::Module& model, const std::string& sidecar_json) {
  save_weights(file("model.pt"), model);
  write_text("model.json", sidecar_json);
}

}  // namespace rkhs::train
