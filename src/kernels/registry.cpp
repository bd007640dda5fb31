#include "registry.h"

#include <torch/torch.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "rkhs/error.h"

namespace rkhs::kernels {
namespace detail {

const std::string* SpecArgs::find(const std::string& key) {
  known_.insert(key);
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

bool SpecArgs::has(const std::string& key) { return find(key) != nullptr; }

namespace {

double parse_real(const std::string& key, const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (text.empty() || end != begin + text.size() || errno == ERANGE || !std::isfinite(v) ||
      std::isspace(static_cast<unsigned char>(text[0])))
    throw Error(key + " must be a finite number, got '" + text + "'");
  return v;
}

}  // namespace

double SpecArgs::real(const std::string& key, double fallback) {
  const std::string* text = find(key);
  return text ? parse_real(key, *text) : fallback;
}

long long SpecArgs::integer(const std::string& key, long long fallback) {
  const std::string* text = find(key);
  if (!text) return fallback;
  const char* begin = text->c_str();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(begin, &end, 10);
  if (text->empty() || end != begin + text->size() || errno == ERANGE ||
      std::isspace(static_cast<unsigned char>((*text)[0])))
    throw Error(key + " must be an integer, got '" + *text + "'");
  return v;
}

std::vector<double> SpecArgs::reals(const std::string& key, char sep) {
  const std::string* text = find(key);
  std::vector<double> out;
  if (!text) return out;
  size_t start = 0;
  while (true) {
    const size_t end = text->find(sep, start);
    out.push_back(parse_real(key, text->substr(start, end == std::string::npos ? std::string::npos : end - start)));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

void SpecArgs::finish() const {
  for (const auto& [key, value] : kv_) {
    if (known_.count(key)) continue;
    std::string keys;
    for (const auto& k : known_) keys += (keys.empty() ? "" : ", ") + k;
    throw Error("unknown key '" + key + "'" + (keys.empty() ? " (this kernel takes no keys)" : " (keys: " + keys + ")"));
  }
}

std::string format_real(double v) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string make_spec(const std::string& name, const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out = name;
  for (size_t i = 0; i < kv.size(); ++i) out += (i == 0 ? ":" : ",") + kv[i].first + "=" + kv[i].second;
  return out;
}

}  // namespace detail

namespace {

const std::vector<detail::KernelEntry>& entries() {
  static const std::vector<detail::KernelEntry> table = [] {
    std::vector<detail::KernelEntry> t = {detail::arccos_entry(),  detail::expdot_entry(),  detail::finite_entry(),
                                          detail::laplacian_entry(), detail::linear_entry(), detail::polynomial_entry(),
                                          detail::rbf_entry(),     detail::series_entry(),  detail::tanh_entry()};
    std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return t;
  }();
  return table;
}

}  // namespace

KernelPtr make_kernel(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const detail::KernelEntry* entry = nullptr;
  for (const auto& e : entries())
    if (e.name == name) entry = &e;
  if (!entry) {
    std::string names;
    for (const auto& n : kernel_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("kernel spec '" + spec + "': unknown kernel '" + name + "' (known: " + names + ")");
  }
  try {
    std::map<std::string, std::string> kv;
    if (colon != std::string::npos) {
      RKHS_CHECK(colon + 1 < spec.size(), "expected key=value after ':'");
      kv = parse_options(spec.substr(colon + 1), "kernel options");
    }
    detail::SpecArgs args(std::move(kv));
    auto kernel = entry->make(args);
    args.finish();
    return kernel;
  } catch (const Error& e) {
    throw Error("kernel spec '" + spec + "': " + e.what());
  }
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> out;
  for (const auto& e : entries()) out.push_back(e.name);
  return out;
}

std::string kernel_help() {
  std::ostringstream os;
  size_t width = 0;
  for (const auto& e : entries()) width = std::max(width, e.name.size());
  for (const auto& e : entries()) {
    os << e.name << std::string(width + 2 - e.name.size(), ' ') << e.formula;
    if (!e.keys.empty()) os << "  (" << e.keys << ")";
    os << '\n';
  }
  return os.str();
}

}  // namespace rkhs::kernels
