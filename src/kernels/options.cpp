#include <torch/torch.h>

#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"

namespace rkhs::kernels {

at::Tensor Kernel::diag(const at::Tensor& x) const {
  // Generic fallback: k(x_i, x_i) one row at a time, O(n d) memory instead of the O(n^2) Gram matrix.
  std::vector<at::Tensor> out;
  out.reserve(x.size(0));
  for (int64_t i = 0; i < x.size(0); ++i) {
    auto xi = x.narrow(0, i, 1);
    out.push_back(gram(xi, xi).reshape({1}));
  }
  return out.empty() ? torch::zeros({0}, x.options()) : torch::cat(out);
}

std::map<std::string, std::string> parse_options(const std::string& spec, const std::string& what) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= spec.size() && !spec.empty()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    std::string pair = spec.substr(start, end - start);
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size())
      throw Error(what + ": expected key=value, got '" + pair + "' in '" + spec + "'");
    std::string key = pair.substr(0, eq);
    if (out.count(key)) throw Error(what + ": key '" + key + "' given twice in '" + spec + "'");
    out[key] = pair.substr(eq + 1);
    start = end + 1;
    if (end == spec.size()) break;
  }
  return out;
}

}  // namespace rkhs::kernels
