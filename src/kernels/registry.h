#pragma once
// Private to src/kernels: the pieces of the by-name registry. Each kernel's .cpp defines one
// `KernelEntry <name>_entry()`; registry.cpp lists them (an explicit table: no static-initialisation order).
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "rkhs/kernels/kernel.h"

namespace rkhs::kernels::detail {

// The key=value options of one spec, read with typed, range-checked getters. Every getter marks its key as
// known; finish() then rejects keys no getter asked for. Errors are plain rkhs::Error messages; make_kernel
// prefixes them with the spec.
class SpecArgs {
 public:
  explicit SpecArgs(std::map<std::string, std::string> kv) : kv_(std::move(kv)) {}
  bool has(const std::string& key);
  double real(const std::string& key, double fallback);                 // any finite number
  long long integer(const std::string& key, long long fallback);        // decimal integer
  std::vector<double> reals(const std::string& key, char sep = ';');    // finite numbers, sep-separated
  void finish() const;

 private:
  const std::string* find(const std::string& key);
  std::map<std::string, std::string> kv_;
  std::set<std::string> known_;
};

// Shortest decimal that parses back to exactly v ("1", "0.5", "1e-06", "0.10000000000000001").
std::string format_real(double v);

// "name" or "name:k1=v1,k2=v2" from ordered pairs.
std::string make_spec(const std::string& name, const std::vector<std::pair<std::string, std::string>>& kv);

struct KernelEntry {
  std::string name;
  std::string formula;  // one line, for kernel_help()
  std::string keys;     // "gamma=1 (> 0)" etc., for kernel_help()
  std::function<KernelPtr(SpecArgs&)> make;
};

KernelEntry linear_entry();
KernelEntry polynomial_entry();
KernelEntry rbf_entry();
KernelEntry laplacian_entry();
KernelEntry expdot_entry();
KernelEntry arccos_entry();
KernelEntry tanh_entry();
KernelEntry finite_entry();
KernelEntry series_entry();

}  // namespace rkhs::kernels::detail
