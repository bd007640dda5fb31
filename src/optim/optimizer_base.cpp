#include "rkhs/optim/optimizer_base.h"

#include <torch/torch.h>

#include <sstream>

#include "rkhs/error.h"

namespace rkhs::optim {

OptimizerBase::OptimizerBase(std::vector<torch::optim::OptimizerParamGroup> groups, GroupOptions defaults)
    : torch::optim::Optimizer(std::move(groups), std::make_unique<GroupOptions>(defaults)) {
  RKHS_CHECK(defaults.lr() >= 0, "optimizer: learning rate must be >= 0, got " + std::to_string(defaults.lr()));
  for (const auto& g : param_groups_) {
    const auto& o = static_cast<const GroupOptions&>(g.options());
    RKHS_CHECK(o.weight_decay() >= 0, "optimizer: weight decay must be >= 0, got " + std::to_string(o.weight_decay()));
  }
}

std::vector<at::Tensor> OptimizerBase::all_params() const {
  std::vector<at::Tensor> out;
  for (const auto& g : param_groups_)
    for (const auto& p : g.params()) out.push_back(p);
  return out;
}

at::Tensor OptimizerBase::decayed_grad(const at::Tensor& p, const GroupOptions& group) {
  auto g = p.grad().detach();
  if (group.weight_decay() != 0) g = g.add(p.detach(), group.weight_decay());
  return g;
}

at::Tensor& OptimizerBase::buffer(const at::Tensor& p, const std::string& name, at::IntArrayRef shape) {
  auto& slot = buffers_[p.unsafeGetTensorImpl()][name];
  if (!slot.defined()) slot = shape.empty() ? torch::zeros_like(p, at::MemoryFormat::Contiguous) : torch::zeros(shape, p.options());
  return slot;
}

bool OptimizerBase::has_buffer(const at::Tensor& p, const std::string& name) const {
  auto it = buffers_.find(p.unsafeGetTensorImpl());
  return it != buffers_.end() && it->second.count(name) > 0;
}

void OptimizerBase::backward(const at::Tensor& loss) {
  if (!needs_graph()) {
    loss.backward();
    return;
  }
  std::vector<at::Tensor> params;
  for (const auto& p : all_params())
    if (p.requires_grad()) params.push_back(p);
  auto grads = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true, /*create_graph=*/true,
                                     /*allow_unused=*/true);
  for (size_t i = 0; i < params.size(); ++i) {
    if (!grads[i].defined()) continue;
    auto& g = params[i].mutable_grad();
    g = g.defined() ? g.detach() + grads[i] : grads[i];
  }
}

int64_t OptimizerBase::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& [key, named] : buffers_)
    for (const auto& [name, t] : named) bytes += static_cast<int64_t>(t.numel() * t.element_size());
  return bytes;
}

void OptimizerBase::save(torch::serialize::OutputArchive& archive) const {
  archive.write("kind", c10::IValue(kind()));
  archive.write("step", c10::IValue(step_));
  const auto params = all_params();
  archive.write("params", c10::IValue(static_cast<int64_t>(params.size())));
  std::ostringstream index;  // "i name;" for every stored buffer
  for (size_t i = 0; i < params.size(); ++i) {
    auto it = buffers_.find(params[i].unsafeGetTensorImpl());
    if (it == buffers_.end()) continue;
    for (const auto& [name, t] : it->second) {
      index << i << ' ' << name << ';';
      archive.write("p" + std::to_string(i) + "/" + name, t, /*is_buffer=*/true);
    }
  }
  archive.write("buffers", c10::IValue(index.str()));
}

void OptimizerBase::load(torch::serialize::InputArchive& archive) {
  c10::IValue v;
  archive.read("kind", v);
  RKHS_CHECK(v.isString() && v.toStringRef() == kind(),
             "optimizer state was written by " + (v.isString() ? v.toStringRef() : std::string("?")) + ", not " + kind());
  archive.read("step", v);
  const int64_t step = v.toInt();
  archive.read("params", v);
  const auto params = all_params();
  RKHS_CHECK(v.toInt() == static_cast<int64_t>(params.size()),
             "optimizer state has " + std::to_string(v.toInt()) + " parameters, this model " + std::to_string(params.size()));
  archive.read("buffers", v);
  std::istringstream index(v.toStringRef());
  std::map<const void*, std::map<std::string, at::Tensor>> loaded;
  std::string entry;
  while (std::getline(index, entry, ';')) {
    std::istringstream fields(entry);
    size_t i = 0;
    std::string name;
    RKHS_CHECK(static_cast<bool>(fields >> i >> name) && i < params.size(), "optimizer state: malformed buffer index '" + entry + "'");
    at::Tensor t;
    archive.read("p" + std::to_string(i) + "/" + name, t, /*is_buffer=*/true);
    loaded[params[i].unsafeGetTensorImpl()][name] = t.to(params[i].device());
  }
  buffers_ = std::move(loaded);
  step_ = step;
}

std::vector<at::Tensor> hessian_vector_product(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& v) {
  RKHS_CHECK(params.size() == v.size(), "hessian_vector_product: " + std::to_string(params.size()) +
                                            " parameters but " + std::to_string(v.size()) + " vectors");
  std::vector<at::Tensor> outputs, grad_outputs, inputs;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& g = params[i].grad();
    RKHS_CHECK(g.defined(), "hessian_vector_product: parameter " + std::to_string(i) + " has no gradient");
    RKHS_CHECK(v[i].sizes() == params[i].sizes(), "hessian_vector_product: vector " + std::to_string(i) + " has the wrong shape");
    if (g.requires_grad()) {
      outputs.push_back(g);
      grad_outputs.push_back(v[i]);
    }
    inputs.push_back(params[i]);
  }
  std::vector<at::Tensor> hv;
  if (outputs.empty()) {
    for (const auto& p : params) hv.push_back(torch::zeros_like(p));
  } else {
    hv = torch::autograd::grad(outputs, inputs, grad_outputs, /*retain_graph=*/false, /*create_graph=*/false,
                               /*allow_unused=*/true);
    for (size_t i = 0; i < hv.size(); ++i)
      if (!hv[i].defined()) hv[i] = torch::zeros_like(params[i]);
  }
  for (const auto& p : params) {
    auto& g = const_cast<at::Tensor&>(p).mutable_grad();
    g = g.detach();
  }
  return hv;
}

}  // namespace rkhs::optim
