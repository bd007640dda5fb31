#pragma once
// The tensor operations the Python package offers, as plain C++ functions: registered once as torch.ops.rkhs.*
// (ops.cpp, TORCH_LIBRARY) and bound once as rkhs._C.* (module.cpp, whose errors arrive as rkhs.Error). Each is
// differentiable through autograd where the underlying rkhs function is (docs/PYTHON.md lists the schemas).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace rkhs::python {

// The inputs' check at the package's edge: rkhs::Error "<op>: <name> has NaN or infinite entries" for a floating
// CPU tensor with one. Not on other devices, where the check would synchronise with the host on every call.
void check_finite(const char* op, const char* name, const at::Tensor& t);

at::Tensor gram(const std::string& spec, const at::Tensor& x, const at::Tensor& y);
at::Tensor kernel_diag(const std::string& spec, const at::Tensor& x);
at::Tensor series_kernel(const at::Tensor& t, const at::Tensor& alpha, double eps);
at::Tensor kcl_logits(const at::Tensor& z, const at::Tensor& w, const at::Tensor& alpha, double eps,
                      double temperature);
at::Tensor kcl_logits_reference(const at::Tensor& z, const at::Tensor& w, const at::Tensor& alpha, double eps,
                                double temperature);
at::Tensor psd_inverse(const at::Tensor& h, double damping);
at::Tensor precondition_gradient(const at::Tensor& grad, const at::Tensor& inverse, const std::string& mode);
at::Tensor neuralef_loss(const at::Tensor& kernel_matrix, const at::Tensor& psi);
at::Tensor neuralef_output_gradient(const at::Tensor& kernel_matrix, const at::Tensor& psi);
at::Tensor kernel_weight(const std::string& spec, const at::Tensor& u, const at::Tensor& v, const at::Tensor& alpha);
at::Tensor pair_dot(const at::Tensor& h, const at::Tensor& w, const at::Tensor& rows, const at::Tensor& cols);
at::Tensor sparse_matmul(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values, int64_t n_rows,
                         const at::Tensor& x);

// One CKN layer (paper 003; rkhs/ckn/layer.h) with the given filters (p, C h h): x (B, C, H, W) ->
// (B, p, ceil(H / s), ceil(W / s)), differentiable in x and the filters (the Nystrom map recomputed every call).
at::Tensor ckn_layer(const at::Tensor& x, const at::Tensor& filters, int64_t patch, int64_t subsample, double sigma,
                     const std::string& kernel, double eps);

}  // namespace rkhs::python
