// The systems' fits for Python, taking and returning tensors (not files): NeuralEF and Nystrom eigenfunctions of
// a registry kernel on given points. Each returns its eigenvalues and an object that evaluates the eigenfunctions
// on new points (rkhs.spectral wraps them).
#include <torch/extension.h>

#include "rkhs/ckn/network.h"
#include "rkhs/classify/head.h"
#include "rkhs/classify/kcl.h"
#include "rkhs/core/state.h"
#include "rkhs/error.h"
#include "rkhs/kernelnet/autorec.h"
#include "rkhs/kernels/kernel.h"
#include "rkhs/spectral/neuralef.h"
#include "rkhs/spectral/nystrom.h"

namespace py = pybind11;

namespace rkhs::python {

namespace {

// The learned eigenfunctions, evaluated in float32 like `rkhs eigen` (outputs float64).
at::Tensor evaluate_neuralef(spectral::NeuralEFImpl& net, const at::Tensor& x) {
  RKHS_CHECK(x.dim() == 2 && x.size(1) == net.options.input_dim,
             "NeuralEF: points must be (m, " + std::to_string(net.options.input_dim) + "), got " +
                 std::to_string(x.dim()) + " dimensions");
  torch::NoGradGuard no_grad;
  net.eval();
  return net.forward(x.to(torch::kFloat32)).to(torch::kFloat64);
}

py::tuple fit_neuralef(const at::Tensor& x, const std::string& kernel, int64_t k, int64_t width, int64_t hidden_layers,
                       const std::string& activation, int64_t iterations, int64_t batch_size, double lr, uint64_t seed,
                       bool rayleigh_ritz) {
  RKHS_CHECK(x.dim() == 2 && x.size(0) >= 2, "NeuralEF: points must be (N, d) with N >= 2");
  RKHS_CHECK(torch::isfinite(x).all().item<bool>(), "NeuralEF: the points contain NaN or infinite values");
  RKHS_CHECK(k >= 1 && k <= x.size(0), "NeuralEF: k must be in [1, N], got " + std::to_string(k));
  RKHS_CHECK(iterations >= 1 && batch_size >= 2 && lr > 0, "NeuralEF: need iterations >= 1, batch_size >= 2, lr > 0");
  spectral::NeuralEFOptions o;
  o.k = k;
  o.input_dim = x.size(1);
  o.width = width;
  o.hidden_layers = hidden_layers;
  o.activation = activation;
  spectral::NeuralEFTrainOptions t;
  t.iterations = iterations;
  t.batch_size = batch_size;
  t.lr = lr;
  t.seed = seed;
  t.rayleigh_ritz = rayleigh_ritz;
  const auto kern = kernels::make_kernel(kernel);
  spectral::NeuralEFReport report;
  std::shared_ptr<spectral::NeuralEFImpl> net;
  {
    py::gil_scoped_release release;
    torch::manual_seed(seed);
    spectral::NeuralEF holder(o);
    report = spectral::train_neuralef(holder, kern, x.to(torch::kFloat32), t);
    net = holder.ptr();
  }
  py::dict info;
  info["ema_eigenvalues"] = report.ema_eigenvalues;
  info["captured_trace"] = report.captured_trace;
  info["rayleigh_ritz"] = report.rayleigh_ritz;
  info["train_seconds"] = report.train_seconds;
  return py::make_tuple(report.eigenvalues, net, info);
}

// CKN unsupervised training (spherical k-means per layer, first layer first) of the network with these options on
// images (N, C, H, W); returns the filters of every layer and the report.
py::tuple fit_ckn_unsupervised(const at::Tensor& images, const std::vector<int64_t>& filters,
                               const std::vector<int64_t>& patch, const std::vector<int64_t>& subsample,
                               const std::vector<double>& sigma, const std::string& kernel, int64_t patches,
                               int64_t kmeans_iterations, int64_t max_images, uint64_t seed) {
  RKHS_CHECK(images.dim() == 4, "CKN: images must be (N, C, H, W)");
  RKHS_CHECK(torch::isfinite(images).all().item<bool>(), "CKN: the images contain NaN or infinite values");
  ckn::NetworkOptions o;
  o.in_channels = images.size(1);
  o.filters = filters;
  o.patch = patch;
  o.subsample = subsample;
  o.sigma = sigma;
  o.kernel = kernel;
  ckn::UnsupervisedOptions u;
  u.patches = patches;
  u.kmeans_iterations = kmeans_iterations;
  u.max_images = max_images;
  u.seed = seed;
  std::vector<at::Tensor> learned;
  ckn::UnsupervisedReport report;
  {
    py::gil_scoped_release release;
    torch::manual_seed(seed);
    ckn::Network net(o);
    report = ckn::train_unsupervised(net, images.to(torch::kFloat32), u);
    for (size_t i = 0; i < net->depth(); ++i) learned.push_back(net->layer(i)->filters.detach().clone());
  }
  py::dict info;
  info["mean_cosine"] = report.mean_cosine;
  info["iterations"] = report.iterations;
  info["seconds"] = report.seconds;
  return py::make_tuple(learned, info);
}

// A {name: tensor} file as the C++ side writes model.pt (core::save_weights: torch::pickle_save of a dict, CPU
// tensors, written atomically), so that C++ loads what Python saves.
void save_state(const std::map<std::string, at::Tensor>& state, const std::string& path) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : state) dict.insert(name, tensor.detach().cpu().contiguous());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  core::write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

// The {name: tensor} dict of such a file, read by the C++ side's reader (core::read_weights): no Python unpickling,
// so PyTorch >= 2.6's torch.load(weights_only=True) default, which refuses the type tags of LibTorch's pickler,
// does not apply; a bad file is an rkhs.Error naming it.
std::map<std::string, at::Tensor> load_state(const std::string& path) { return core::read_weights(path); }

// For tests/python: a C++ KernelizedHead with these options loads `path` (core::load_weights: every name and
// shape must match) and returns its logits for z.
at::Tensor cpp_kernelized_head_logits(const std::string& path, int64_t dim, int64_t classes, int64_t order,
                                      const std::string& activation, const at::Tensor& z) {
  classify::KernelizedHead head(classify::KernelizedOptions(dim, classes).order(order).activation(activation));
  core::load_weights(path, *head);
  torch::NoGradGuard no_grad;
  return head->forward(z);
}

// For tests/python: the C++ head `name` (classify::make_head) with the numeric options given (sigma, poly_degree,
// gamma, kervo_degree, temperature), its parameters set from `state` (every name and shape must match), and its
// logits for z.
at::Tensor cpp_head_logits(const std::string& name, int64_t dim, int64_t classes,
                           const std::map<std::string, double>& options, const std::map<std::string, at::Tensor>& state,
                           const at::Tensor& z) {
  classify::HeadOptions o;
  o.name = name;
  o.dim = dim;
  o.classes = classes;
  for (const auto& [key, value] : options) {
    if (key == "sigma") o.sigma = value;
    else if (key == "poly_degree") o.poly_degree = static_cast<int64_t>(value);
    else if (key == "gamma") o.gamma = value;
    else if (key == "kervo_degree") o.kervo_degree = static_cast<int64_t>(value);
    else if (key == "temperature") o.temperature = value;
    else RKHS_CHECK(false, "head logits: unknown option " + key);
  }
  auto head = classify::make_head(o);
  torch::NoGradGuard no_grad;
  auto params = head->named_parameters();
  RKHS_CHECK(params.size() == state.size(), "head logits: " + std::to_string(state.size()) + " tensors given, the " +
                                                name + " head has " + std::to_string(params.size()));
  for (auto& p : params) {
    const auto it = state.find(p.key());
    RKHS_CHECK(it != state.end(), "head logits: no tensor for " + p.key());
    RKHS_CHECK(it->second.sizes() == p.value().sizes(), "head logits: wrong shape for " + p.key());
    p.value().copy_(it->second);
  }
  return head->forward(z);
}

// The item-based AutoRec fitted on index tensors, and what predicting needs afterwards: the training ratings are
// the network's input (an item's vector of user ratings).
struct AutoRecFit {
  kernelnet::AutoRec model{nullptr};
  kernelnet::ObservedRatings input;
  float lo = 0, hi = 0;

  // Clipped predictions at (user, item) index pairs.
  at::Tensor predict(const at::Tensor& users, const at::Tensor& items) {
    RKHS_CHECK(users.dim() == 1 && items.sizes() == users.sizes(), "AutoRec: users and items must be (n,) each");
    RKHS_CHECK(users.numel() == 0 || (users.min().item<int64_t>() >= 0 && users.max().item<int64_t>() < input.num_users &&
                                      items.min().item<int64_t>() >= 0 && items.max().item<int64_t>() < input.num_items),
               "AutoRec: user or item index out of range");
    torch::NoGradGuard no_grad;
    model->eval();
    return model->forward_observed(input, items.to(torch::kInt64), users.to(torch::kInt64)).clamp(lo, hi);
  }
};

data::Ratings ratings_from(const at::Tensor& users, const at::Tensor& items, const at::Tensor& values,
                           int64_t num_users, int64_t num_items, const char* what) {
  RKHS_CHECK(users.dim() == 1 && items.sizes() == users.sizes() && values.sizes() == users.sizes(),
             std::string("AutoRec: the ") + what + " users, items and ratings must be (n,) each");
  RKHS_CHECK(torch::isfinite(values).all().item<bool>(), std::string("AutoRec: the ") + what + " ratings contain NaN");
  data::Ratings r;
  auto u = users.to(torch::kInt64).contiguous(), i = items.to(torch::kInt64).contiguous();
  auto v = values.to(torch::kFloat32).contiguous();
  r.user.assign(u.data_ptr<int64_t>(), u.data_ptr<int64_t>() + u.numel());
  r.item.assign(i.data_ptr<int64_t>(), i.data_ptr<int64_t>() + i.numel());
  r.rating.assign(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
  for (size_t k = 0; k < r.user.size(); ++k)
    RKHS_CHECK(r.user[k] >= 0 && r.user[k] < num_users && r.item[k] >= 0 && r.item[k] < num_items,
               std::string("AutoRec: ") + what + " rating " + std::to_string(k) + " has a user or item index out of range");
  for (int64_t k = 0; k < num_users; ++k) r.user_ids.push_back(k);
  for (int64_t k = 0; k < num_items; ++k) r.item_ids.push_back(k);
  r.name = what;
  return r;
}

py::tuple fit_autorec(const at::Tensor& train_users, const at::Tensor& train_items, const at::Tensor& train_ratings,
                      const at::Tensor& test_users, const at::Tensor& test_items, const at::Tensor& test_ratings,
                      int64_t num_users, int64_t num_items, const kernelnet::AutoRecOptions& options) {
  RKHS_CHECK(num_users >= 1 && num_items >= 1, "AutoRec: num_users and num_items must be >= 1");
  data::RatingsSplit split;
  split.train = ratings_from(train_users, train_items, train_ratings, num_users, num_items, "training");
  split.test = ratings_from(test_users, test_items, test_ratings, num_users, num_items, "test");
  RKHS_CHECK(split.train.size() >= 1 && split.test.size() >= 1, "AutoRec: needs training and test ratings");
  auto fit = std::make_shared<AutoRecFit>();
  kernelnet::AutoRecResult result;
  {
    py::gil_scoped_release release;
    torch::manual_seed(options.seed);
    fit->model = kernelnet::AutoRec(num_users, options);
    result = kernelnet::fit_autorec(fit->model, split, options);
    fit->input = kernelnet::observed_ratings(split.train);
    fit->lo = split.train.min_rating();
    fit->hi = split.train.max_rating();
  }
  py::list history;
  for (const auto& l : result.history)
    history.append(py::dict(py::arg("loop") = l.loop, py::arg("loss") = l.loss, py::arg("train_rmse") = l.train_rmse,
                            py::arg("test_rmse") = l.test_rmse, py::arg("seconds") = l.seconds));
  py::dict info(py::arg("test_rmse") = result.test_rmse, py::arg("train_rmse") = result.train_rmse,
                py::arg("train_seconds") = result.train_seconds, py::arg("parameters") = result.parameters,
                py::arg("nonzero_weights") = result.nonzero_weights, py::arg("weights") = result.weights,
                py::arg("cold_start_test") = result.cold_start_test, py::arg("history") = history);
  return py::make_tuple(info, fit);
}

}  // namespace

void bind_systems(py::module_& m) {
  py::class_<spectral::NeuralEFImpl, std::shared_ptr<spectral::NeuralEFImpl>>(m, "NeuralEFFunctions")
      .def("__call__", &evaluate_neuralef, py::arg("x"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("k", [](const spectral::NeuralEFImpl& n) { return n.options.k; });
  m.def("fit_neuralef", &fit_neuralef, py::arg("x"), py::arg("kernel"), py::arg("k"), py::arg("width"),
        py::arg("hidden_layers"), py::arg("activation"), py::arg("iterations"), py::arg("batch_size"), py::arg("lr"),
        py::arg("seed"), py::arg("rayleigh_ritz"));

  m.def("fit_ckn_unsupervised", &fit_ckn_unsupervised, py::arg("images"), py::arg("filters"), py::arg("patch"),
        py::arg("subsample"), py::arg("sigma"), py::arg("kernel"), py::arg("patches"), py::arg("kmeans_iterations"),
        py::arg("max_images"), py::arg("seed"));
  m.def("save_state", &save_state, py::arg("state"), py::arg("path"), py::call_guard<py::gil_scoped_release>());
  m.def("load_state", &load_state, py::arg("path"), py::call_guard<py::gil_scoped_release>());
  m.def("_cpp_kernelized_head_logits", &cpp_kernelized_head_logits);
  m.def("_cpp_head_logits", &cpp_head_logits, py::arg("name"), py::arg("dim"), py::arg("classes"), py::arg("options"),
        py::arg("state"), py::arg("z"));
  py::class_<AutoRecFit, std::shared_ptr<AutoRecFit>>(m, "AutoRecFit")
      .def("__call__", &AutoRecFit::predict, py::arg("users"), py::arg("items"),
           py::call_guard<py::gil_scoped_release>());
  m.def("fit_autorec", [](const at::Tensor& train_users, const at::Tensor& train_items, const at::Tensor& train_ratings,
                          const at::Tensor& test_users, const at::Tensor& test_items, const at::Tensor& test_ratings,
                          int64_t num_users, int64_t num_items, const std::string& layer, int64_t layers,
                          int64_t hidden, double lambda2, double lambda_s, int64_t dim, const std::string& kernel,
                          int64_t outer_loops, int64_t lbfgs_iterations, uint64_t seed) {
    kernelnet::AutoRecOptions o;
    o.layer = layer;
    o.layers = layers;
    o.hidden = hidden;
    o.layer_options.lambda2 = lambda2;
    o.layer_options.lambda_s = lambda_s;
    o.layer_options.dim = dim;
    o.layer_options.kernel = kernel;
    o.outer_loops = outer_loops;
    o.lbfgs_iterations = lbfgs_iterations;
    o.seed = seed;
    o.progress = false;
    return fit_autorec(train_users, train_items, train_ratings, test_users, test_items, test_ratings, num_users,
                       num_items, o);
  });
  py::class_<spectral::NystromEigen>(m, "NystromFunctions")
      .def("__call__", &spectral::NystromEigen::operator(), py::arg("x"), py::call_guard<py::gil_scoped_release>())
      .def_readonly("eigenvalues", &spectral::NystromEigen::eigenvalues)
      .def_readonly("vectors", &spectral::NystromEigen::vectors)
      .def_property_readonly("k", [](const spectral::NystromEigen& n) { return n.eigenvalues.size(0); });
  m.def("fit_nystrom", [](const at::Tensor& x, const std::string& kernel, int64_t k) {
        RKHS_CHECK(x.dim() == 2, "Nystrom: points must be (N, d)");
        const auto kern = kernels::make_kernel(kernel);
        py::gil_scoped_release release;
        return spectral::nystrom_eigen(kern, x, k);
      }, py::arg("x"), py::arg("kernel"), py::arg("k"));
}

}  // namespace rkhs::python
