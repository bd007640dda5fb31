#pragma once
// The kernel family shared by all five systems: one interface, Gram matrices with autograd.
//
// Shapes: X is (n, d), Y is (m, d); gram(X, Y) is (n, m) with entry k(x_i, y_j); diag(X) is (n,) with
// k(x_i, x_i). Inputs of any floating dtype and device; the result has the inputs' dtype and device and is
// differentiable with respect to X, Y and the kernel's own learnable parameters (if any).
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rkhs::kernels {

class Kernel {
 public:
  virtual ~Kernel() = default;

  // k(X, Y): (n, d) x (m, d) -> (n, m).
  virtual at::Tensor gram(const at::Tensor& x, const at::Tensor& y) const = 0;
  // k(x_i, x_i): (n, d) -> (n,). Default: the diagonal of gram(X, X) computed row by row cheaply
  // where a kernel can (overridden), otherwise via gram.
  virtual at::Tensor diag(const at::Tensor& x) const;

  // Canonical spec string that make_kernel() parses back to an equal kernel, e.g. "rbf:gamma=0.5".
  virtual std::string name() const = 0;
  // True when every Gram matrix of the kernel is positive semi-definite on its domain (tanh: false).
  virtual bool is_positive_definite() const = 0;
  // Domain restriction, for documentation and checks: true for kernels defined on the unit sphere only
  // (exponential dot-product, KCL's series kernel).
  virtual bool requires_unit_sphere() const { return false; }
  // Learnable parameters (empty for fixed kernels).
  virtual std::vector<at::Tensor> parameters() const { return {}; }
};

using KernelPtr = std::shared_ptr<Kernel>;

// Creates a kernel from a spec "name" or "name:key=value,key=value". Unknown names or keys, malformed values
// and out-of-range values throw rkhs::Error naming the spec. See docs/KERNELS.md for the list.
KernelPtr make_kernel(const std::string& spec);

// Names of all registered kernels, sorted.
std::vector<std::string> kernel_names();

// One line per kernel: "name  formula  (parameters with defaults)" for --help texts.
std::string kernel_help();

// Parses "key=value,key=value" into a map; throws rkhs::Error on malformed pairs (used by other registries).
std::map<std::string, std::string> parse_options(const std::string& spec, const std::string& what);

}  // namespace rkhs::kernels
