// IDX reader: the whole (decompressed) stream is read through zlib, then the header is validated against the
// bytes actually present before any tensor is allocated.
#include "rkhs/data/idx.h"

#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

#include "rkhs/error.h"

namespace rkhs::data {
namespace {

struct GzFile {
  gzFile f = nullptr;
  ~GzFile() {
    if (f) gzclose(f);
  }
};

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// zlib's gzerror text is "PATH: message"; the path is already in front of our messages.
std::string zlib_message(const std::string& path, const char* msg) {
  std::string m = msg ? msg : "zlib error";
  if (m.rfind(path + ": ", 0) == 0) m = m.substr(path.size() + 2);
  return m;
}

// Reads all bytes of a raw or gzip file.
std::vector<uint8_t> read_all(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, not an IDX file");
  GzFile g;
  g.f = gzopen(path.c_str(), "rb");
  if (!g.f) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> buf;
  if (st.st_size > 0) buf.reserve(static_cast<size_t>(st.st_size));  // the exact size for raw files
  std::vector<uint8_t> chunk(size_t(1) << 18);
  for (;;) {
    const int got = gzread(g.f, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(g.f, &err);
      throw file_offset_error(path, static_cast<long long>(buf.size()),
                              "cannot decompress: " + zlib_message(path, msg));
    }
    if (got == 0) break;
    buf.insert(buf.end(), chunk.begin(), chunk.begin() + got);
  }
  int err = Z_OK;
  const char* msg = gzerror(g.f, &err);
  if (err != Z_OK) {
    throw file_offset_error(path, static_cast<long long>(buf.size()),
                              "truncated or corrupt gzip stream: " + zlib_message(path, msg));
  }
  return buf;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex(unsigned v) {
  static const char* d = "0123456789ABCDEF";
  return std::string("0x") + d[(v >> 4) & 15] + d[v & 15];
}

}  // namespace

at::Tensor load_idx(const std::string& path) {
  const std::vector<uint8_t> buf = read_all(path);
  const size_t size = buf.size();
  if (size < 4) throw file_offset_error(path, 0, "file too short for an IDX header (" + std::to_string(size) + " bytes)");
  if (buf[0] != 0 || buf[1] != 0)
    throw file_offset_error(path, 0, "bad magic: expected 0x00 0x00 <type> <ndims>, found " + hex(buf[0]) + " " +
                                         hex(buf[1]) + " (not an IDX file)");
  const unsigned type = buf[2];
  at::ScalarType dtype;
  size_t elem = 0;
  switch (type) {
    case 0x08: dtype = at::kByte; elem = 1; break;
    case 0x09: dtype = at::kChar; elem = 1; break;
    case 0x0B: dtype = at::kShort; elem = 2; break;
    case 0x0C: dtype = at::kInt; elem = 4; break;
    case 0x0D: dtype = at::kFloat; elem = 4; break;
    case 0x0E: dtype = at::kDouble; elem = 8; break;
    default:
      throw file_offset_error(path, 2, "unsupported IDX element type " + hex(type) +
                                           " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  }
  const unsigned ndims = buf[3];
  if (ndims == 0) throw file_offset_error(path, 3, "IDX file has 0 dimensions");
  const size_t header = 4 + 4 * size_t(ndims);
  if (size < header)
    throw file_offset_error(path, static_cast<long long>(size),
                            "truncated header: " + std::to_string(ndims) + " dimensions need " +
                                std::to_string(header) + " bytes, file has " + std::to_string(size));
  const size_t remaining = size - header;
  std::vector<int64_t> dims(ndims);
  size_t count = 1;  // elements so far; kept <= remaining / elem, so it never overflows
  for (unsigned i = 0; i < ndims; ++i)
    if (be32(&buf[4 + 4 * i]) == 0)
      throw file_offset_error(path, static_cast<long long>(4 + 4 * i), "dimension " + std::to_string(i) + " is 0");
  for (unsigned i = 0; i < ndims; ++i) {
    const uint32_t d = be32(&buf[4 + 4 * i]);
    const long long off = static_cast<long long>(4 + 4 * i);
    if (d > remaining / elem / count)
      throw file_offset_error(path, off,
                              "dimension " + std::to_string(i) + " = " + std::to_string(d) +
                                  " makes the data larger than the " + std::to_string(remaining) +
                                  " bytes left in the file (truncated data or corrupt header)");
    count *= d;
    dims[i] = static_cast<int64_t>(d);
  }
  const size_t need = count * elem;
  if (remaining > need)
    throw file_offset_error(path, static_cast<long long>(header + need),
                            std::to_string(remaining - need) + " trailing bytes after the data (expected " +
                                std::to_string(need) + " data bytes)");
  at::Tensor t = torch::empty(dims, torch::TensorOptions().dtype(dtype));
  auto* out = static_cast<uint8_t*>(t.data_ptr());
  const uint8_t* src = buf.data() + header;
  if (elem == 1) {
    std::memcpy(out, src, need);
  } else {
    for (size_t i = 0; i < count; ++i)
      for (size_t b = 0; b < elem; ++b) out[i * elem + b] = src[i * elem + (elem - 1 - b)];
  }
  return t;
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         const std::string& name) {
  at::Tensor img = load_idx(images_path);
  if (img.scalar_type() != at::kByte)
    throw file_offset_error(images_path, 2, "image file must hold unsigned bytes (type 0x08)");
  if (img.dim() != 3 && img.dim() != 4)
    throw file_offset_error(images_path, 3,
                            "image file must have 3 (n, H, W) or 4 (n, C, H, W) dimensions, found " +
                                std::to_string(img.dim()));
  at::Tensor lab = load_idx(labels_path);
  if (lab.dim() != 1)
    throw file_offset_error(labels_path, 3, "label file must have 1 dimension, found " + std::to_string(lab.dim()));
  if (lab.is_floating_point())
    throw file_offset_error(labels_path, 2, "label file must hold integers, not floating-point values");
  if (lab.size(0) != img.size(0))
    throw Error(labels_path + ": offset 4: " + std::to_string(lab.size(0)) + " labels for " +
                std::to_string(img.size(0)) + " images in " + images_path);
  Dataset d;
  d.y = lab.to(at::kLong);
  const int64_t mn = d.y.min().item<int64_t>();
  if (mn < 0) {
    const int64_t pos = d.y.lt(0).nonzero()[0][0].item<int64_t>();
    throw file_offset_error(labels_path, 8 + pos * static_cast<int64_t>(lab.element_size()),
                            "negative label " + std::to_string(mn));
  }
  d.num_classes = d.y.max().item<int64_t>() + 1;
  if (img.dim() == 3) img = img.unsqueeze(1);
  d.x = img.to(at::kFloat).div_(255.0f);
  d.name = name;
  return d;
}

std::string fashion_mnist_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  if (const char* env = std::getenv("RKHS_FASHION_MNIST"); env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

namespace {
// The .gz file if present, else the uncompressed one if present, else "" (the .gz name is reported).
std::string find_fmnist_file(const std::string& dir, const std::string& stem) {
  const std::string gz = dir + "/" + stem + ".gz";
  if (file_exists(gz)) return gz;
  const std::string raw = dir + "/" + stem;
  if (file_exists(raw)) return raw;
  return "";
}
const char* kFiles[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte"};
}  // namespace

bool fashion_mnist_available(const std::string& dir) {
  const std::string d = fashion_mnist_dir(dir);
  for (const char* f : kFiles)
    if (find_fmnist_file(d, f).empty()) return false;
  return true;
}

Dataset load_fashion_mnist(bool train, const std::string& dir) {
  const std::string d = fashion_mnist_dir(dir);
  std::string paths[2];
  for (int i = 0; i < 2; ++i) {
    const std::string stem = kFiles[(train ? 0 : 2) + i];
    paths[i] = find_fmnist_file(d, stem);
    if (paths[i].empty())
      throw Error(d + "/" + stem + ".gz: Fashion-MNIST file not found (install it with `apt-get install "
                  "dataset-fashion-mnist` or scripts/setup.sh, or point RKHS_FASHION_MNIST at a directory "
                  "holding the four files)");
  }
  Dataset ds = load_idx_dataset(paths[0], paths[1], train ? "fashion-mnist-train" : "fashion-mnist-test");
  ds.num_classes = std::max<int64_t>(ds.num_classes, 10);
  return ds;
}

}  // namespace rkhs::data
