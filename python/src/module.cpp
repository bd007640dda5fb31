// rkhs._C: the Python extension. Binds the tensor operations of ops.h (their errors arrive as rkhs.Error), the
// kernel registry, and the command line (rkhs.run). Long calls release the GIL; rkhs::warn() reaches Python's
// warnings module; LibTorch's own errors arrive as RuntimeError with their first line.
#include <c10/util/Exception.h>
#include <torch/extension.h>

#include <chrono>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "ops.h"
#include "rkhs/compat.h"
#include "rkhs/core/message.h"
#include "rkhs/error.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/warn.h"

namespace py = pybind11;

namespace rkhs::python {
void bind_systems(py::module_& m);     // systems.cpp
void bind_optimizers(py::module_& m);  // optim.cpp
}

namespace {

PyObject* warning_class = nullptr;

// rkhs::warn() from any C++ code reaches Python as a warnings.warn(message, rkhs.Warning). A warning filter that
// turns it into an error ("-W error") surfaces as rkhs.Error with the warning's text.
void python_warning(const std::string& message) {
  py::gil_scoped_acquire gil;
  if (PyErr_WarnEx(warning_class, message.c_str(), 1) != 0) {
    PyErr_Clear();
    throw rkhs::Error(message);
  }
}

// Runs the rkhs command line in this process and returns what it printed on stdout. --help and --version print
// their text there; a bad flag raises rkhs.Error with CLI11's message. Torch's thread count is restored after.
std::string run_cli(const std::vector<std::string>& args, bool quiet) {
  std::ostringstream captured;
  struct Restore {
    std::streambuf* cout_buffer;
    int threads;
    ~Restore() {
      std::cout.rdbuf(cout_buffer);
      at::set_num_threads(threads);
      rkhs::cli::set_quiet(false);
    }
  } restore{std::cout.rdbuf(captured.rdbuf()), at::get_num_threads()};
  rkhs::cli::set_quiet(quiet);
  const auto app = rkhs::cli::make_app();
  try {
    rkhs::cli::run_command_line(*app, args);
  } catch (const CLI::ParseError& e) {
    std::ostringstream error;
    if (app->exit(e, captured, error) != 0) throw rkhs::Error(rkhs::core::first_line(error.str().empty() ? e.what() : error.str()));
  }
  return captured.str();
}

void bind_kernels(py::module_& m) {
  py::class_<rkhs::kernels::Kernel, rkhs::kernels::KernelPtr>(m, "Kernel")
      .def("gram", [](const rkhs::kernels::Kernel& k, const at::Tensor& x, const at::Tensor& y) {
             rkhs::python::check_finite("Kernel.gram", "x", x);
             rkhs::python::check_finite("Kernel.gram", "y", y);
             return k.gram(x, y);
           }, py::arg("x"), py::arg("y"), py::call_guard<py::gil_scoped_release>())
      .def("diag", [](const rkhs::kernels::Kernel& k, const at::Tensor& x) {
             RKHS_CHECK(x.dim() == 2, "Kernel.diag: x must be an (n, d) matrix, got " + std::to_string(x.dim()) +
                                          " dimension(s)");
             rkhs::python::check_finite("Kernel.diag", "x", x);
             return k.diag(x);
           }, py::arg("x"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("name", &rkhs::kernels::Kernel::name)
      .def_property_readonly("is_positive_definite", &rkhs::kernels::Kernel::is_positive_definite)
      .def_property_readonly("requires_unit_sphere", &rkhs::kernels::Kernel::requires_unit_sphere)
      .def("__repr__", [](const rkhs::kernels::Kernel& k) { return "rkhs.kernels.make('" + k.name() + "')"; });
  m.def("make_kernel", &rkhs::kernels::make_kernel, py::arg("spec"));
  m.def("kernel_names", &rkhs::kernels::kernel_names);
  m.def("kernel_help", &rkhs::kernels::kernel_help);
}

// Kernel SGD's H^-1 per batch, as the C++ optimizer computes it (float64, pseudo-inverse and a warning when H is
// singular, "random-psd" control), for rkhs.optim.KernelSGD.
void bind_preconditioner(py::module_& m) {
  using rkhs::optim::KernelPreconditioner;
  py::class_<KernelPreconditioner>(m, "KernelPreconditioner")
      .def(py::init([](const std::string& kernel, double damping, uint64_t seed) {
             rkhs::optim::PreconditionerOptions o;
             o.kernel = kernel;
             o.damping = damping;
             o.seed = seed;
             return std::make_unique<KernelPreconditioner>(o);
           }),
           py::arg("kernel"), py::arg("damping") = 0.0, py::arg("seed") = 0)
      .def("inverse", &KernelPreconditioner::inverse, py::arg("inputs"), py::arg("batch_id") = 0,
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("inverses_computed", &KernelPreconditioner::inverses_computed)
      .def_property_readonly("pseudo_inverses", &KernelPreconditioner::pseudo_inverses);
}

void bind_ops(py::module_& m) {
  namespace ops = rkhs::python;
  using release = py::call_guard<py::gil_scoped_release>;
  m.def("gram", &ops::gram, py::arg("spec"), py::arg("x"), py::arg("y"), release());
  m.def("kernel_diag", &ops::kernel_diag, py::arg("spec"), py::arg("x"), release());
  m.def("series_kernel", &ops::series_kernel, py::arg("t"), py::arg("alpha"), py::arg("eps") = 1e-6, release());
  m.def("kcl_logits", &ops::kcl_logits, py::arg("z"), py::arg("w"), py::arg("alpha"), py::arg("eps") = 1e-6,
        py::arg("temperature") = 1.0, release());
  m.def("kcl_logits_reference", &ops::kcl_logits_reference, py::arg("z"), py::arg("w"), py::arg("alpha"),
        py::arg("eps") = 1e-6, py::arg("temperature") = 1.0, release());
  m.def("psd_inverse", &ops::psd_inverse, py::arg("h"), py::arg("damping") = 0.0, release());
  m.def("precondition_gradient", &ops::precondition_gradient, py::arg("grad"), py::arg("inverse"),
        py::arg("mode") = "corrected", release());
  m.def("neuralef_loss", &ops::neuralef_loss, py::arg("kernel_matrix"), py::arg("psi"), release());
  m.def("neuralef_output_gradient", &ops::neuralef_output_gradient, py::arg("kernel_matrix"), py::arg("psi"),
        release());
  m.def("kernel_weight", &ops::kernel_weight, py::arg("spec"), py::arg("u"), py::arg("v"), py::arg("alpha"), release());
  m.def("pair_dot", &ops::pair_dot, py::arg("h"), py::arg("w"), py::arg("rows"), py::arg("cols"), release());
  m.def("ckn_layer", &ops::ckn_layer, py::arg("x"), py::arg("filters"), py::arg("patch") = 3, py::arg("subsample") = 2,
        py::arg("sigma") = 0.6, py::arg("kernel") = "exp", py::arg("eps") = 1e-2, release());
  m.def("sparse_matmul", &ops::sparse_matmul, py::arg("rows"), py::arg("cols"), py::arg("values"),
        py::arg("n_rows"), py::arg("x"), release());
}

// For bench/python_overhead.py: seconds per call of `call` timed in C++ (3 warm-up calls, then `reps`), the
// baseline that the same call from Python is compared with in one process.
template <class F>
double seconds_per_call(F&& call, int64_t reps) {
  RKHS_CHECK(reps > 0, "reps must be > 0");
  for (int i = 0; i < 3; ++i) call();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < reps; ++i) call();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(reps);
}

void bind_benchmark_hooks(py::module_& m) {
  using release = py::call_guard<py::gil_scoped_release>;
  m.def("_cpp_seconds_kcl_logits", [](const at::Tensor& z, const at::Tensor& w, const at::Tensor& alpha,
                                      bool backward, int64_t reps) {
    return seconds_per_call([&] {
      auto logits = rkhs::python::kcl_logits(z, w, alpha, 1e-6, 1.0);
      if (backward) logits.sum().backward();
    }, reps);
  }, release());
  m.def("_cpp_seconds_gram", [](const std::string& spec, const at::Tensor& x, const at::Tensor& y, int64_t reps) {
    return seconds_per_call([&] { rkhs::python::gram(spec, x, y); }, reps);
  }, release());
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rkhs: kernel methods inside deep networks (the C++ core; use the rkhs package)";
  auto error = py::register_exception<rkhs::Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<rkhs::DivergenceError>(m, "DivergenceError", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, rkhs::core::one_line_message(e).c_str());
    }
  });
  warning_class = PyErr_NewException("rkhs._C.Warning", PyExc_UserWarning, nullptr);
  m.attr("Warning") = py::handle(warning_class);
  rkhs::set_warning_handler(python_warning);

  m.attr("torch_version") = rkhs::compat::torch_version();
  bind_kernels(m);
  bind_ops(m);
  bind_preconditioner(m);
  rkhs::python::bind_systems(m);
  rkhs::python::bind_optimizers(m);
  bind_benchmark_hooks(m);
  m.def("run_cli", &run_cli, py::arg("args"), py::arg("quiet") = true, py::call_guard<py::gil_scoped_release>());
}
