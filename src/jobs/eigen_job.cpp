// rkhs eigen: NeuralEF or Nystrom eigenpairs of a kernel, against the exact eigendecomposition (paper 002).
#include "rkhs/jobs/eigen_job.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "rkhs/data/csv.h"
#include "rkhs/data/synthetic.h"
#include "rkhs/data/transform.h"
#include "rkhs/error.h"
#include "rkhs/spectral/nngp.h"
#include "rkhs/spectral/nystrom.h"
#include "rkhs/spectral/quality.h"
#include "rkhs/train/run_folder.h"

namespace rkhs::jobs {

using json = nlohmann::json;

namespace {

std::vector<double> to_vector(const at::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// Training and held-out points (float64) and a description.
std::tuple<at::Tensor, at::Tensor, std::string> load_points(const EigenConfig& c, const std::string& kernel) {
  RKHS_CHECK(c.n >= 2 && c.heldout >= 1, "--n must be >= 2 and --heldout >= 1");
  if (c.data == "uniform1d") {
    // The paper's 1-D settings: U[-2, 2] for the RBF kernel, U[-1, 1] for the polynomial one.
    const double a = kernel == "polynomial" ? 1.0 : 2.0;
    auto train = data::make_uniform(c.n, -a, a, c.seed).x.to(torch::kFloat64);
    auto held = data::make_uniform(c.heldout, -a, a, c.seed + 7919).x.to(torch::kFloat64);
    return {train, held, "uniform1d: U[-" + std::to_string(a).substr(0, 3) + ", " + std::to_string(a).substr(0, 3) + "]"};
  }
  data::Dataset all;
  if (c.data == "moons") all = data::make_moons(c.n + c.heldout, 0.1, c.seed);
  else if (c.data == "circles") all = data::make_circles(c.n + c.heldout, 0.05, 0.5, c.seed);
  else if (c.data.rfind("csv:", 0) == 0) all = data::load_csv(c.data.substr(4));
  else throw Error("--data must be uniform1d, moons, circles or csv:PATH, got '" + c.data + "'");
  auto x = all.x.reshape({all.size(), -1}).to(torch::kFloat64);
  RKHS_CHECK(x.size(0) >= c.n + c.heldout, "--data " + c.data + " has " + std::to_string(x.size(0)) +
                                                " points, fewer than --n + --heldout = " + std::to_string(c.n + c.heldout));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  auto perm = torch::randperm(x.size(0), gen, torch::TensorOptions().dtype(torch::kLong));
  auto train = x.index({perm.slice(0, 0, c.n)});
  auto held = x.index({perm.slice(0, c.n, c.n + c.heldout)});
  if (c.data.rfind("csv:", 0) == 0) {  // features standardised with the training points' statistics
    const auto s = data::Standardizer::fit(train.to(torch::kFloat32));
    train = s.apply(train.to(torch::kFloat32)).to(torch::kFloat64);
    held = s.apply(held.to(torch::kFloat32)).to(torch::kFloat64);
  }
  return {train, held, c.data + ": " + std::to_string(c.n) + " training and " + std::to_string(c.heldout) + " held-out points"};
}

// The named kernels of `rkhs eigen` for points of dimension d, else a registry spec.
kernels::KernelPtr make_eigen_kernel(const std::string& name, const std::string& data, int64_t d, uint64_t seed) {
  if (name == "rbf") return kernels::make_kernel(data == "uniform1d" ? "rbf:gamma=0.5" : "rbf:gamma=1");
  if (name == "polynomial") return kernels::make_kernel("polynomial:degree=4,offset=1.5,scale=1");
  if (name == "nngp-mlp" || name == "nngp-relu") {
    spectral::NNGPOptions o;  // 2 hidden ReLU layers, width 16, S = 10000, w ~ N(0, 2 / fan_in), b ~ N(0, 1)
    o.input_dim = d;
    o.seed = seed + 104729;
    if (name == "nngp-relu") return std::make_shared<spectral::NNGPReluKernel>(o);
    return std::make_shared<spectral::NNGPMonteCarloKernel>(o);
  }
  return kernels::make_kernel(name);
}

}  // namespace

EigenResult run_eigen(EigenConfig c) {
  RKHS_CHECK(c.method == "neuralef" || c.method == "nystrom", "--method must be neuralef or nystrom, got '" + c.method + "'");
  RKHS_CHECK(c.k >= 1 && c.k <= c.n, "--k must be in [1, --n]");
  EigenResult r;
  auto [train, held, desc] = load_points(c, c.kernel);
  r.data_description = desc;
  const auto kernel = make_eigen_kernel(c.kernel, c.data, train.size(1), c.seed);
  r.kernel_spec = kernel->name();

  // The exact reference: eigendecomposition of the same sample, extended to the held-out points (eq. 8).
  std::optional<spectral::NystromEigen> reference;
  if (c.n <= c.reference_limit) {
    const auto t = std::chrono::steady_clock::now();
    reference = spectral::nystrom_eigen(kernel, train, c.k);
    r.reference_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    r.reference_eigenvalues = to_vector(reference->eigenvalues);
    r.reference_trace = reference->eigenvalues.sum().item<double>();
    r.null_pairs = reference->null_pairs;
    r.has_reference = true;
  }
  at::Tensor eigenvalues, psi_held;
  if (c.method == "nystrom") {
    const auto t = std::chrono::steady_clock::now();
    auto nys = reference ? *reference : spectral::nystrom_eigen(kernel, train, c.k);
    r.train_seconds = reference ? r.reference_seconds : std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    eigenvalues = nys.eigenvalues;
    psi_held = nys(held);
  } else {
    c.net.k = c.k;
    c.net.input_dim = train.size(1);
    c.train.seed = c.seed;
    c.train.progress = c.progress;
    if (const auto* mc = dynamic_cast<const spectral::NNGPMonteCarloKernel*>(kernel.get()))
      c.train.kernel_features = mc->features(train.to(torch::kFloat32)) / std::sqrt(double(mc->samples()));  // K = Phi Phi^T
    torch::manual_seed(c.seed);
    spectral::NeuralEF net(c.net);
    auto rep = spectral::train_neuralef(net, kernel, train.to(torch::kFloat32), c.train);
    r.train_seconds = rep.train_seconds;
    r.rayleigh_seconds = rep.rayleigh_seconds;
    r.ema_eigenvalues = to_vector(rep.ema_eigenvalues);
    r.captured_trace = rep.captured_trace;
    eigenvalues = rep.eigenvalues;
    torch::NoGradGuard g;
    psi_held = net->forward(held.to(torch::kFloat32)).to(torch::kFloat64);
  }
  r.eigenvalues = to_vector(eigenvalues);
  r.orthogonality = spectral::orthogonality_error(psi_held);
  if (reference) {
    r.rel_error = to_vector(spectral::eigenvalue_relative_error(eigenvalues, reference->eigenvalues));
    r.alignment = to_vector(spectral::alignment(psi_held, (*reference)(held)));
    // Eigenpairs whose reference eigenvalue is numerically zero have no eigenfunction to compare with: NaN (null).
    for (int64_t j = c.k - r.null_pairs; j < c.k; ++j) r.rel_error[j] = r.alignment[j] = NAN;
  }
  if (!c.out_dir.empty()) {
    train::RunFolder run(c.out_dir);
    auto order = std::get<1>(held.select(1, 0).sort());
    auto cols = std::vector<at::Tensor>{held.index({order}), psi_held.index({order})};
    const int64_t d = held.size(1);
    std::string header;
    for (int64_t i = 1; i <= d; ++i) header += (i > 1 ? ",x_" : "x_") + std::to_string(i);
    for (int64_t j = 1; j <= c.k; ++j) header += ",psi_" + std::to_string(j);
    if (reference) {
      auto ref = (*reference)(held);
      auto sign = torch::sign((ref * psi_held).sum(0));
      cols.push_back((ref * torch::where(sign == 0, torch::ones_like(sign), sign)).index({order}));
      for (int64_t j = 1; j <= c.k; ++j) header += ",ref_" + std::to_string(j);
    }
    auto table = torch::cat(cols, 1).contiguous();
    auto a = table.accessor<double, 2>();
    std::string csv = header + "\n";
    char num[32];
    for (int64_t i = 0; i < table.size(0); ++i) {
      for (int64_t j = 0; j < table.size(1); ++j) {
        std::snprintf(num, sizeof num, j ? ",%.8g" : "%.8g", a[i][j]);
        csv += num;
      }
      csv += "\n";
    }
    run.write_text("eigenfunctions.csv", csv);
    run.write_text("config.json", r.to_json(c) + "\n");
  }
  return r;
}

std::string EigenResult::to_json(const EigenConfig& c) const {
  json j;
  j["command"] = "eigen";
  j["kernel"] = c.kernel;
  j["kernel_spec"] = kernel_spec;
  j["data"] = c.data;
  j["data_description"] = data_description;
  j["n"] = c.n;
  j["heldout"] = c.heldout;
  j["k"] = c.k;
  j["method"] = c.method;
  j["seed"] = c.seed;
  if (c.method == "neuralef") {
    j["iterations"] = c.train.iterations;
    j["batch_size"] = std::min(c.train.batch_size, c.n);
    j["ema_eigenvalues"] = ema_eigenvalues;
    j["rayleigh_seconds"] = rayleigh_seconds;
    j["captured_trace"] = captured_trace;
  }
  j["eigenvalues"] = eigenvalues;
  j["reference_eigenvalues"] = has_reference ? json(reference_eigenvalues) : json(nullptr);
  j["reference_trace"] = has_reference ? json(reference_trace) : json(nullptr);
  // NaN entries (numerically zero reference eigenvalues) become null.
  auto nan_to_null = [](const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(std::isnan(x) ? json(nullptr) : json(x));
    return a;
  };
  j["eigenvalue_rel_error"] = has_reference ? nan_to_null(rel_error) : json(nullptr);
  j["alignment"] = has_reference ? nan_to_null(alignment) : json(nullptr);
  j["null_pairs"] = null_pairs;
  j["orthogonality"] = orthogonality;
  j["train_seconds"] = train_seconds;
  j["reference_seconds"] = reference_seconds;
  return j.dump();
}

}  // namespace rkhs::jobs
