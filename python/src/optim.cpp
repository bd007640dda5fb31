// rkhs.optim.ESGD / AdaHessian: the C++ optimizers of paper 001's baselines stepping the parameters of a Python
// model (the same tensors: a Python parameter is an at::Tensor). The Python class (a torch.optim.Optimizer) keeps
// the parameter groups and passes each group's lr and weight decay to step(); the curvature buffers live here.
#include <torch/extension.h>

#include <sstream>

#include "rkhs/core/message.h"
#include "rkhs/error.h"
#include "rkhs/optim/curvature.h"
#include "rkhs/optim/kernel_preconditioner.h"
#include "rkhs/optim/kernel_sgd.h"

namespace py = pybind11;

namespace rkhs::python {

namespace {

class CppOptimizer {
 public:
  explicit CppOptimizer(std::unique_ptr<optim::OptimizerBase> opt) : opt_(std::move(opt)) {}

  bool needs_graph() const { return opt_->needs_graph(); }
  int64_t steps() const { return opt_->steps(); }
  int64_t state_bytes() const { return opt_->state_bytes(); }

  // One step with the groups' current rates and weight decays (a Python scheduler may have changed them).
  void step(const std::vector<double>& lrs, const std::vector<double>& weight_decays) {
    auto& groups = opt_->param_groups();
    RKHS_CHECK(lrs.size() == groups.size() && weight_decays.size() == groups.size(),
               "optimizer: the parameter groups changed after construction (add_param_group is not supported)");
    for (size_t i = 0; i < groups.size(); ++i)
      static_cast<optim::GroupOptions&>(groups[i].options()).lr(lrs[i]).weight_decay(weight_decays[i]);
    opt_->step();
  }

  // The step count and every buffer (OptimizerBase::save), as bytes for Python's state_dict().
  py::bytes state() const {
    torch::serialize::OutputArchive archive;
    opt_->save(archive);
    std::ostringstream out;
    archive.save_to(out);
    return py::bytes(out.str());
  }

  // Restores what state() wrote; rkhs::Error for another optimizer kind, another number of parameters or bytes
  // that are no optimizer state.
  void load_state(const std::string& data) {
    torch::serialize::InputArchive archive;
    std::istringstream in(data);
    try {
      archive.load_from(in);
    } catch (const c10::Error& e) {
      throw Error("optimizer state: not an rkhs optimizer state (" + core::first_line(e.what()) + ")");
    }
    opt_->load(archive);
  }

 private:
  std::unique_ptr<optim::OptimizerBase> opt_;
};

std::vector<torch::optim::OptimizerParamGroup> make_groups(const std::vector<std::vector<at::Tensor>>& params) {
  RKHS_CHECK(!params.empty(), "optimizer: no parameters");
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const auto& g : params)
    groups.emplace_back(g, std::make_unique<optim::GroupOptions>(optim::GroupOptions(0.01, 0)));
  return groups;
}

// Test hook (tests/python/test_optim_parity.py): the C++ KernelSGD, with a preconditioner attached as the trainer
// attaches it, on copies of `params` (one group) for len(grads) steps. Step t gives parameter i the gradient
// grads[t][i] and the preconditioned layer the batch inputs inputs[t] (batch id t); `preconditioned` indexes
// params. Returns the parameters after every step.
std::vector<std::vector<at::Tensor>> cpp_kernel_sgd_trajectory(
    const std::vector<at::Tensor>& params, const std::vector<int64_t>& preconditioned,
    const std::vector<std::vector<at::Tensor>>& grads, const std::vector<at::Tensor>& inputs, double lr,
    double momentum, double weight_decay, const std::string& mode, const std::string& kernel, double damping,
    uint64_t seed) {
  RKHS_CHECK(grads.size() == inputs.size(), "kernel SGD trajectory: one list of gradients per batch of inputs");
  std::vector<at::Tensor> copies;
  for (const auto& p : params) copies.push_back(p.detach().clone());
  std::vector<at::Tensor> pre;
  for (int64_t i : preconditioned) pre.push_back(copies.at(static_cast<size_t>(i)));
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(copies, std::make_unique<optim::GroupOptions>(optim::GroupOptions(lr, weight_decay)));
  optim::KernelSGD opt(std::move(groups), optim::GroupOptions(lr, weight_decay), pre,
                       optim::parse_kernel_sgd_mode(mode), momentum);
  opt.attach(std::make_shared<optim::KernelPreconditioner>(optim::PreconditionerOptions{kernel, damping, seed}),
             /*fixed_batches=*/false);
  std::vector<std::vector<at::Tensor>> trajectory;
  for (size_t t = 0; t < grads.size(); ++t) {
    RKHS_CHECK(grads[t].size() == copies.size(), "kernel SGD trajectory: one gradient per parameter");
    for (size_t i = 0; i < copies.size(); ++i) copies[i].mutable_grad() = grads[t][i].detach().clone();
    opt.prepare(inputs[t], static_cast<int64_t>(t));
    opt.step();
    std::vector<at::Tensor> now;
    for (const auto& c : copies) now.push_back(c.clone());
    trajectory.push_back(now);
  }
  return trajectory;
}

}  // namespace

void bind_optimizers(py::module_& m) {
  py::class_<CppOptimizer>(m, "CppOptimizer")
      .def_property_readonly("needs_graph", &CppOptimizer::needs_graph)
      .def_property_readonly("steps", &CppOptimizer::steps)
      .def_property_readonly("state_bytes", &CppOptimizer::state_bytes)
      .def("step", &CppOptimizer::step, py::arg("lrs"), py::arg("weight_decays"),
           py::call_guard<py::gil_scoped_release>())
      .def("state", &CppOptimizer::state)
      .def("load_state", &CppOptimizer::load_state, py::arg("data"));
  m.def("make_esgd", [](const std::vector<std::vector<at::Tensor>>& params, int64_t update_every, double damping) {
    return CppOptimizer(std::make_unique<optim::ESGD>(make_groups(params), optim::GroupOptions(), update_every,
                                                      damping));
  }, py::arg("params"), py::arg("update_every"), py::arg("damping"));
  m.def("make_adahessian", [](const std::vector<std::vector<at::Tensor>>& params, double beta1, double beta2,
                              double eps, double hessian_power) {
    return CppOptimizer(std::make_unique<optim::AdaHessian>(make_groups(params), optim::GroupOptions(), beta1, beta2,
                                                            eps, hessian_power));
  }, py::arg("params"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("hessian_power"));
  m.def("_cpp_kernel_sgd_trajectory", &cpp_kernel_sgd_trajectory, py::arg("params"), py::arg("preconditioned"),
        py::arg("grads"), py::arg("inputs"), py::arg("lr"), py::arg("momentum"), py::arg("weight_decay"),
        py::arg("mode"), py::arg("kernel"), py::arg("damping"), py::arg("seed"));
}

}  // namespace rkhs::python
