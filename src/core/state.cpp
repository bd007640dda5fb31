#include "rkhs/core/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rkhs/error.h"
#include "zip_check.h"

namespace rkhs::core {

std::vector<std::pair<std::string, at::Tensor>> named_state(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

std::map<std::string, at::Tensor> copy_state(const torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : named_state(module)) out[name] = t.detach().clone();
  return out;
}

namespace {
std::string shape_str(at::IntArrayRef s) {
  std::ostringstream os;
  os << s;
  return os.str();
}
}  // namespace

void check_state(const torch::nn::Module& module, const std::map<std::string, at::Tensor>& state,
                 const std::string& source) {
  auto mine = named_state(module);
  for (const auto& [name, t] : mine) {
    auto it = state.find(name);
    if (it == state.end())
      throw Error(source + ": parameter '" + name + "' of the model is missing (different architecture?)");
    if (!it->second.defined() || it->second.sizes() != t.sizes())
      throw Error(source + ": parameter '" + name + "' has shape " +
                  (it->second.defined() ? shape_str(it->second.sizes()) : std::string("undefined")) +
                  ", the model expects " + shape_str(t.sizes()) + " (different architecture?)");
  }
  if (state.size() != mine.size()) {
    for (const auto& [name, t] : state) {
      bool found = false;
      for (const auto& m : mine) found = found || m.first == name;
      if (!found) throw Error(source + ": parameter '" + name + "' is not in the model (different architecture?)");
    }
  }
}

void assign_state(torch::nn::Module& module, const std::map<std::string, at::Tensor>& state,
                  const std::string& source) {
  check_state(module, state, source);  // validate everything first: a mismatch leaves the module unchanged
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : named_state(module)) t.copy_(state.at(name));
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const std::string& what) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Error("cannot write " + path + ": " + what + ": " + err);
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fail("open " + tmp);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw fail("write");
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw fail("fsync");
  }
  if (::close(fd) != 0) throw fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("rename");
  // Make the rename itself durable.
  auto parent = std::filesystem::path(path).parent_path();
  int dfd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void save_weights(const std::string& path, const torch::nn::Module& module) {
  c10::Dict<std::string, at::Tensor> dict;
  {
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : named_state(module)) dict.insert(name, t.detach().to(torch::kCPU).contiguous());
  }
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

std::map<std::string, at::Tensor> read_weights(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open model weights " + path + ": " + std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("cannot read model weights " + path + ": " + std::strerror(errno));
  detail::check_zip(bytes.data(), bytes.size(), "model weights " + path);  // before LibTorch parses anything
  std::map<std::string, at::Tensor> state;
  try {
    c10::IValue v = torch::pickle_load(bytes);
    if (!v.isGenericDict()) throw Error("model weights " + path + " are not a {name: tensor} dict");
    for (const auto& entry : v.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor())
        throw Error("model weights " + path + " are not a {name: tensor} dict");
      state[entry.key().toStringRef()] = entry.value().toTensor();
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw Error("model weights " + path + " are corrupt or truncated: " + what.substr(0, what.find('\n')));
  }
  return state;
}

void load_weights(const std::string& path, torch::nn::Module& module) {
  assign_state(module, read_weights(path), "model weights " + path);
}

}  // namespace rkhs::core
