#include "rkhs/core/run_folder.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rkhs/error.h"
#include "rkhs/core/state.h"

namespace rkhs::core {

RunFolder::RunFolder(std::string dir) : dir_(std::move(dir)) {
  RKHS_CHECK(!dir_.empty(), "run folder: empty path");
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_))
    throw Error("cannot create run folder " + dir_ + (ec ? ": " + ec.message() : ": not a directory"));
}

std::string RunFolder::file(const std::string& name) const { return (std::filesystem::path(dir_) / name).string(); }

void RunFolder::write_text(const std::string& name, const std::string& content) { write_file_atomic(file(name), content); }

void RunFolder::append_csv(const std::string& name, const std::string& header, const std::string& row) {
  const std::string path = file(name);
  std::error_code ec;
  const bool fresh = !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
  if (fresh) out << header << '\n';
  out << row << '\n';
  out.flush();
  if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
}

void RunFolder::save_model(torch::nn::Module& model, const std::string& sidecar_json) {
  save_weights(file("model.pt"), model);
  write_text("model.json", sidecar_json);
}

}  // namespace rkhs::core
