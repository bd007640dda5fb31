#include "rkhs/core/checkpoint.h"

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <typeinfo>
#include <zlib.h>

#include "rkhs/error.h"
#include "rkhs/core/message.h"
#include "rkhs/core/state.h"
#include "zip_check.h"

namespace rkhs::core {

namespace {

c10::Dict<std::string, at::Tensor> to_dict(const std::vector<std::pair<std::string, at::Tensor>>& items) {
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& [name, t] : items) d.insert(name, t.detach());
  return d;
}

std::map<std::string, at::Tensor> from_dict(const c10::IValue& v, const std::string& what) {
  RKHS_CHECK(v.isGenericDict(), what + " is not a {name: tensor} dict");
  std::map<std::string, at::Tensor> out;
  for (const auto& e : v.toGenericDict()) {
    RKHS_CHECK(e.key().isString() && e.value().isTensor(), what + " is not a {name: tensor} dict");
    out[e.key().toStringRef()] = e.value().toTensor();
  }
  return out;
}


// The envelope around the LibTorch archive (see checkpoint.h): magic, version, payload size and CRC-32, all
// little-endian. It lets a damaged file be rejected before any byte of it reaches LibTorch's zip reader and
// unpickler, whose failure modes on hostile input we do not control.
constexpr char kMagic[8] = {'R', 'K', 'H', 'S', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 4;

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t get_le(const std::string& in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

uint32_t crc32_of(const char* data, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib's length argument is 32-bit
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, size_t(1) << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string hex32(uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Checks the envelope of `file` and returns the offset of the payload (the LibTorch archive).
size_t check_envelope(const std::string& path, const std::string& file) {
  const std::string where = "checkpoint " + path;
  if (file.size() >= 2 && file[0] == 'P' && file[1] == 'K')
    throw Error(where + " is a bare LibTorch archive (rkhs checkpoint version 1 or another program's file); this " +
                "build reads version " + std::to_string(kCheckpointVersion) + " only");
  if (file.size() < sizeof kMagic || !std::equal(kMagic, kMagic + sizeof kMagic, file.begin()))
    throw Error(where + " is not an rkhs checkpoint (no RKHSCKPT header)");
  if (file.size() < kHeaderBytes)
    throw Error(where + " is corrupt or truncated: " + std::to_string(file.size()) + " bytes, shorter than the " +
                std::to_string(kHeaderBytes) + "-byte header");
  const uint64_t version = get_le(file, 8, 4);
  if (version != static_cast<uint64_t>(kCheckpointVersion))
    throw Error(where + " has format version " + std::to_string(version) + ", this build reads version " +
                std::to_string(kCheckpointVersion));
  const uint64_t size = get_le(file, 12, 8);
  const uint32_t crc = static_cast<uint32_t>(get_le(file, 20, 4));
  const uint64_t have = file.size() - kHeaderBytes;
  if (size != have)
    throw Error(where + " is corrupt or truncated: the header announces " + std::to_string(size) +
                " payload bytes, the file holds " + std::to_string(have));
  const uint32_t actual = crc32_of(file.data() + kHeaderBytes, have);
  if (actual != crc)
    throw Error(where + " is corrupt or truncated: CRC-32 " + hex32(actual) + " of the payload does not match " +
                hex32(crc) + " in the header");
  return kHeaderBytes;
}

// A compiler-independent name of the optimizer's class (typeid names differ between toolchains).
std::string optimizer_kind(torch::optim::Optimizer& opt) {
  if (auto* own = dynamic_cast<NamedOptimizer*>(&opt)) return own->kind();
  if (dynamic_cast<torch::optim::SGD*>(&opt)) return "SGD";
  if (dynamic_cast<torch::optim::AdamW*>(&opt)) return "AdamW";
  if (dynamic_cast<torch::optim::Adam*>(&opt)) return "Adam";
  if (dynamic_cast<torch::optim::LBFGS*>(&opt)) return "LBFGS";
  if (dynamic_cast<torch::optim::RMSprop*>(&opt)) return "RMSprop";
  if (dynamic_cast<torch::optim::Adagrad*>(&opt)) return "Adagrad";
  return typeid(opt).name();
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& opt,
                     int64_t epoch, const std::string& meta_json, const std::map<std::string, at::Tensor>& extra) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("version", c10::IValue(kCheckpointVersion));
  archive.write("epoch", c10::IValue(epoch));
  archive.write("meta", c10::IValue(meta_json));
  archive.write("optimizer_type", c10::IValue(optimizer_kind(opt)));
  archive.write("model", c10::IValue(to_dict(named_state(model))));
  archive.write("extra", c10::IValue(to_dict({extra.begin(), extra.end()})));
  torch::serialize::OutputArchive opt_archive;
  opt.save(opt_archive);
  archive.write("optimizer", opt_archive);
  std::string payload;
  archive.save_to([&payload](const void* data, size_t n) -> size_t {
    payload.append(static_cast<const char*>(data), n);
    return n;
  });
  std::string bytes(kMagic, sizeof kMagic);
  put_le(bytes, static_cast<uint64_t>(kCheckpointVersion), 4);
  put_le(bytes, payload.size(), 8);
  put_le(bytes, crc32_of(payload.data(), payload.size()), 4);
  bytes += payload;
  write_file_atomic(path, bytes);
}

namespace {

// Reads path, checks its envelope (size, CRC) and the archive's format tag and version, and loads the archive.
void open_checkpoint(const std::string& path, c10::Device device, torch::serialize::InputArchive& archive) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("checkpoint " + path + " does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open checkpoint " + path + ": " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("cannot read checkpoint " + path + ": " + std::strerror(errno));
  const size_t payload = check_envelope(path, bytes);
  detail::check_zip(bytes.data() + payload, bytes.size() - payload, "checkpoint " + path);
  try {
    archive.load_from(bytes.data() + payload, bytes.size() - payload, device);
    c10::IValue v;
    if (!archive.try_read("format", v) || !v.isString() || v.toStringRef() != kCheckpointFormat)
      throw Error("checkpoint " + path + " is not an rkhs checkpoint (no format tag '" + kCheckpointFormat + "')");
    archive.read("version", v);
    if (!v.isInt() || v.toInt() != kCheckpointVersion)
      throw Error("checkpoint " + path + " has format version " + (v.isInt() ? std::to_string(v.toInt()) : "?") +
                  ", this build reads version " + std::to_string(kCheckpointVersion));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // c10::Error from the zip reader or the unpickler
    throw Error("checkpoint " + path + " is corrupt or truncated: " + first_line(e.what()));
  }
}

}  // namespace

std::string read_checkpoint_meta(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_checkpoint(path, torch::kCPU, archive);
  try {
    c10::IValue v;
    archive.read("meta", v);
    return v.toStringRef();
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path + " is corrupt or truncated: " + first_line(e.what()));
  }
}

CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& opt) {
  c10::Device device(torch::kCPU);
  for (const auto& p : model.parameters(true)) {
    device = p.device();
    break;
  }

  torch::serialize::InputArchive archive;
  open_checkpoint(path, device, archive);
  torch::serialize::InputArchive opt_archive;
  CheckpointInfo info;
  std::map<std::string, at::Tensor> state;
  std::string opt_type;
  try {
    c10::IValue v;
    archive.read("epoch", v);
    info.epoch = v.toInt();
    archive.read("meta", v);
    info.meta_json = v.toStringRef();
    archive.read("optimizer_type", v);
    opt_type = v.toStringRef();
    archive.read("model", v);
    state = from_dict(v, "checkpoint " + path + ": model state");
    archive.read("extra", v);
    info.extra = from_dict(v, "checkpoint " + path + ": extra state");
    archive.read("optimizer", opt_archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // c10::Error from the zip reader or the unpickler
    throw Error("checkpoint " + path + " is corrupt or truncated: " + first_line(e.what()));
  }
  check_state(model, state, "checkpoint " + path);
  if (opt_type != optimizer_kind(opt))
    throw Error("checkpoint " + path + " holds the state of another optimizer (" + opt_type + ", this run uses " +
                optimizer_kind(opt) + ")");
  try {
    opt.load(opt_archive);
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path + ": optimizer state does not match the model: " + first_line(e.what()));
  }
  assign_state(model, state, "checkpoint " + path);
  return info;
}

}  // namespace rkhs::core
