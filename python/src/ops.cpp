// torch.ops.rkhs.*: the package's tensor operations registered with the dispatcher (the torchvision pattern), so
// they work from TorchScript and torch.ops as well as from the rkhs Python modules. Each is a catch-all kernel
// (CompositeImplicitAutograd): autograd records the ATen operations and custom autograd functions inside.
#include "ops.h"

#include <torch/library.h>

#include "rkhs/ckn/layer.h"
#include "rkhs/classify/kcl.h"
#include "rkhs/error.h"
#include "rkhs/kernelnet/layers.h"
#include "rkhs/kernelnet/sparse_ops.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/kernels/series.h"
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/optim/kernel_sgd.h"
#include "rkhs/spectral/neuralef.h"

namespace rkhs::python {

void check_finite(const char* op, const char* name, const at::Tensor& t) {
  if (!t.defined() || !t.is_floating_point() || !t.device().is_cpu()) return;
  RKHS_CHECK(at::isfinite(t).all().item<bool>(), std::string(op) + ": " + name + " has NaN or infinite entries");
}

at::Tensor gram(const std::string& spec, const at::Tensor& x, const at::Tensor& y) {
  auto kernel = kernels::make_kernel(spec);
  check_finite("gram", "x", x);
  check_finite("gram", "y", y);
  return kernel->gram(x, y);
}
at::Tensor kernel_diag(const std::string& spec, const at::Tensor& x) {
  auto kernel = kernels::make_kernel(spec);
  check_finite("kernel_diag", "x", x);
  return kernel->diag(x);
}
at::Tensor series_kernel(const at::Tensor& t, const at::Tensor& alpha, double eps) {
  check_finite("series_kernel", "t", t);
  check_finite("series_kernel", "alpha", alpha);
  return kernels::series_kernel(t, alpha, eps);
}

namespace {
void check_kcl(const char* op, const at::Tensor& z, const at::Tensor& w, const at::Tensor& alpha) {
  check_finite(op, "z", z);
  check_finite(op, "w", w);
  check_finite(op, "alpha", alpha);
}
}  // namespace

at::Tensor kcl_logits(const at::Tensor& z, const at::Tensor& w, const at::Tensor& alpha, double eps,
                      double temperature) {
  check_kcl("kcl_logits", z, w, alpha);
  return classify::kcl_logits(z, w, alpha, eps, temperature);
}
at::Tensor kcl_logits_reference(const at::Tensor& z, const at::Tensor& w, const at::Tensor& alpha, double eps,
                                double temperature) {
  check_kcl("kcl_logits_reference", z, w, alpha);
  return classify::kcl_logits_reference(z, w, alpha, eps, temperature);
}
at::Tensor psd_inverse(const at::Tensor& h, double damping) { return optim::psd_inverse(h, damping); }
at::Tensor precondition_gradient(const at::Tensor& grad, const at::Tensor& inverse, const std::string& mode) {
  check_finite("precondition_gradient", "grad", grad);
  check_finite("precondition_gradient", "inverse", inverse);
  return optim::precondition_gradient(grad, inverse, optim::parse_kernel_sgd_mode(mode));
}
at::Tensor neuralef_loss(const at::Tensor& kernel_matrix, const at::Tensor& psi) {
  check_finite("neuralef_loss", "kernel_matrix", kernel_matrix);
  check_finite("neuralef_loss", "psi", psi);
  return spectral::neuralef_loss(kernel_matrix, psi);
}
at::Tensor neuralef_output_gradient(const at::Tensor& kernel_matrix, const at::Tensor& psi) {
  check_finite("neuralef_output_gradient", "kernel_matrix", kernel_matrix);
  check_finite("neuralef_output_gradient", "psi", psi);
  return spectral::neuralef_output_gradient(kernel_matrix, psi);
}
at::Tensor kernel_weight(const std::string& spec, const at::Tensor& u, const at::Tensor& v, const at::Tensor& alpha) {
  auto kernel = kernels::make_kernel(spec);
  check_finite("kernel_weight", "u", u);
  check_finite("kernel_weight", "v", v);
  check_finite("kernel_weight", "alpha", alpha);
  return kernelnet::kernel_weight(*kernel, u, v, alpha);
}
at::Tensor pair_dot(const at::Tensor& h, const at::Tensor& w, const at::Tensor& rows, const at::Tensor& cols) {
  check_finite("pair_dot", "h", h);
  check_finite("pair_dot", "w", w);
  return kernelnet::pair_dot(h, w, rows, cols);
}
at::Tensor sparse_matmul(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& values, int64_t n_rows,
                         const at::Tensor& x) {
  check_finite("sparse_matmul", "values", values);
  check_finite("sparse_matmul", "x", x);
  return kernelnet::sparse_matmul(rows, cols, values, n_rows, x);
}

at::Tensor ckn_layer(const at::Tensor& x, const at::Tensor& filters, int64_t patch, int64_t subsample, double sigma,
                     const std::string& kernel, double eps) {
  RKHS_CHECK(x.dim() == 4, "CKN layer: x must be (B, C, H, W), got " + std::to_string(x.dim()) + " dimensions");
  RKHS_CHECK(patch >= 1 && patch % 2 == 1, "CKN layer: patch must be odd and >= 1, got " + std::to_string(patch));
  RKHS_CHECK(filters.dim() == 2 && filters.size(1) == x.size(1) * patch * patch,
             "CKN layer: filters must be (p, C * patch * patch) = (p, " + std::to_string(x.size(1) * patch * patch) +
                 ")");
  check_finite("ckn_layer", "x", x);
  check_finite("ckn_layer", "filters", filters);
  ckn::LayerOptions o;
  o.in_channels = x.size(1);
  o.filters = filters.size(0);
  o.patch = patch;
  o.subsample = subsample;
  o.sigma = sigma;
  o.kernel = kernel;
  o.eps = eps;
  ckn::CKNLayerImpl layer(o);  // validates the options
  layer.filters = filters;     // the caller's tensor: gradients flow to it
  layer.train(true);           // no cached Nystrom map
  return layer.forward(x);
}

namespace {
at::Tensor ckn_layer_op(const at::Tensor& x, const at::Tensor& filters, int64_t patch, int64_t subsample, double sigma,
                        c10::string_view kernel, double eps) {
  return ckn_layer(x, filters, patch, subsample, sigma, std::string(kernel), eps);
}
// The dispatcher passes `str` arguments as c10::string_view.
at::Tensor gram_op(c10::string_view spec, const at::Tensor& x, const at::Tensor& y) {
  return gram(std::string(spec), x, y);
}
at::Tensor kernel_diag_op(c10::string_view spec, const at::Tensor& x) { return kernel_diag(std::string(spec), x); }
at::Tensor kernel_weight_op(c10::string_view spec, const at::Tensor& u, const at::Tensor& v, const at::Tensor& alpha) {
  return kernel_weight(std::string(spec), u, v, alpha);
}
at::Tensor precondition_gradient_op(const at::Tensor& grad, const at::Tensor& inverse, c10::string_view mode) {
  return precondition_gradient(grad, inverse, std::string(mode));
}
}  // namespace

}  // namespace rkhs::python

TORCH_LIBRARY(rkhs, m) {
  using namespace rkhs::python;
  m.def("gram(str spec, Tensor x, Tensor y) -> Tensor", &gram_op);
  m.def("kernel_diag(str spec, Tensor x) -> Tensor", &kernel_diag_op);
  m.def("series_kernel(Tensor t, Tensor alpha, float eps=1e-06) -> Tensor", &series_kernel);
  m.def("kcl_logits(Tensor z, Tensor w, Tensor alpha, float eps=1e-06, float temperature=1.0) -> Tensor",
        &kcl_logits);
  m.def("kcl_logits_reference(Tensor z, Tensor w, Tensor alpha, float eps=1e-06, float temperature=1.0) -> Tensor",
        &kcl_logits_reference);
  m.def("psd_inverse(Tensor h, float damping=0.0) -> Tensor", &psd_inverse);
  m.def("precondition_gradient(Tensor grad, Tensor inverse, str mode=\"corrected\") -> Tensor",
        &precondition_gradient_op);
  m.def("neuralef_loss(Tensor kernel_matrix, Tensor psi) -> Tensor", &neuralef_loss);
  m.def("neuralef_output_gradient(Tensor kernel_matrix, Tensor psi) -> Tensor", &neuralef_output_gradient);
  m.def("kernel_weight(str spec, Tensor u, Tensor v, Tensor alpha) -> Tensor", &kernel_weight_op);
  m.def("pair_dot(Tensor h, Tensor w, Tensor rows, Tensor cols) -> Tensor", &pair_dot);
  m.def("ckn_layer(Tensor x, Tensor filters, int patch=3, int subsample=2, float sigma=0.6, str kernel=\"exp\", "
        "float eps=0.01) -> Tensor", &ckn_layer_op);
  m.def("sparse_matmul(Tensor rows, Tensor cols, Tensor values, int n_rows, Tensor x) -> Tensor", &sparse_matmul);
}
