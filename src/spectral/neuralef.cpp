#include "rkhs/spectral/neuralef.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/core/device.h"
#include "rkhs/core/dist.h"
#include "rkhs/core/loop.h"
#include "rkhs/core/loss_meter.h"
#include "rkhs/core/cpu_adam.h"
#include "rkhs/warn.h"
#include "eigen_training.h"
#include "pooling.h"
#include "mlp_kernels.h"
#include "sincos_kernels.h"

namespace rkhs::spectral {

NeuralEFImpl::NeuralEFImpl(NeuralEFOptions o) : options(std::move(o)) {
  RKHS_CHECK(options.k >= 1 && options.input_dim >= 1 && options.width >= 1 && options.hidden_layers >= 1,
             "NeuralEF: k, input dimension, width and hidden layers must be >= 1");
  RKHS_CHECK(options.activation == "sincos" || options.activation == "relu" || options.activation == "tanh",
             "NeuralEF: activation must be sincos, relu or tanh, got '" + options.activation + "'");
  RKHS_CHECK(options.activation != "sincos" || options.width % 2 == 0, "NeuralEF: sincos needs an even width");
  RKHS_CHECK(options.momentum >= 0 && options.momentum < 1, "NeuralEF: momentum must be in [0, 1)");
  RKHS_CHECK(options.architecture == "mlp" || options.architecture == "cnn",
             "NeuralEF: architecture must be mlp or cnn, got '" + options.architecture + "'");
  if (options.architecture == "cnn") {
    const auto& s = options.image_shape;
    RKHS_CHECK(s.size() == 3 && s[0] >= 1 && s[0] * s[1] * s[2] == options.input_dim,
               "NeuralEF: the cnn architecture needs an image shape C x H x W matching the input dimension");
    RKHS_CHECK(s[1] / 2 - 2 >= 2 && s[2] / 2 - 2 >= 2, "NeuralEF: images too small for the cnn architecture");
    RKHS_CHECK(options.channels.size() == 2 && options.channels[0] >= 1 && options.channels[1] >= 1,
               "NeuralEF: the cnn architecture needs two channel counts");
  }
  RKHS_CHECK(!options.shared_trunk || options.architecture == "mlp", "NeuralEF: a shared trunk is for the mlp architecture");
  reset();
}

void NeuralEFImpl::reset() {
  activation_ = options.activation == "sincos" ? Activation::sincos
              : options.activation == "relu"   ? Activation::relu
                                               : Activation::tanh;  // checked in the constructor
  weights.clear();
  biases.clear();
  const int64_t k = options.k;
  int64_t in = options.input_dim, layers = options.hidden_layers;
  if (options.architecture == "cnn") {
    const int64_t c = options.image_shape[0], c1 = options.channels[0], c2 = options.channels[1];
    conv1 = register_parameter("conv1", torch::randn({k * c1, c, 3, 3}) * std::sqrt(2.0 / double(c * 9)));
    conv1_bias = register_parameter("conv1_bias", torch::zeros({k * c1}));
    conv2 = register_parameter("conv2", torch::randn({k * c2, c1, 3, 3}) * std::sqrt(2.0 / double(c1 * 9)));
    conv2_bias = register_parameter("conv2_bias", torch::zeros({k * c2}));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(k * c1));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(k * c2));
    in = c2 * ((options.image_shape[1] / 2 - 2) / 2) * ((options.image_shape[2] / 2 - 2) / 2);
    layers = 1;
  }
  // Separate networks: a leading dimension of k and one output each; a shared trunk: one network with k outputs.
  const int64_t nets = options.shared_trunk ? 1 : k, outputs = options.shared_trunk ? k : 1;
  for (int64_t l = 0; l <= layers; ++l) {
    const int64_t out = l == layers ? outputs : options.width;
    weights.push_back(register_parameter("w" + std::to_string(l), torch::randn({nets, in, out}) * std::sqrt(2.0 / double(in))));
    biases.push_back(register_parameter("b" + std::to_string(l), torch::zeros({nets, 1, out})));
    in = out;
  }
  norm_ema = register_buffer("norm_ema", torch::ones({k}));
  eigenvalues = register_buffer("eigenvalues", torch::zeros({k}));
  initialised = register_buffer("initialised", torch::zeros({}));
  whitening = register_buffer("whitening", torch::zeros({0}));
}

namespace {

// The sincos activation of h (nets, width, B) along dim 1: its values (sin on the first half of the units, cos on
// the second) into *out and/or its derivative (cos, -sin) into *deriv, whichever is given. Both at once on the CPU in
// float: one pass of cpu::sincos per half (sin and cos from one range reduction); otherwise ATen's sin and cos.
void sincos_parts(const at::Tensor& h, at::Tensor* out, at::Tensor* deriv) {
  const int64_t nets = h.size(0), width = h.size(1), half = width / 2, rest = width - half;
  if (out) *out = torch::empty_like(h);
  if (deriv) *deriv = torch::empty_like(h);
  if (out && deriv && h.device().is_cpu() && h.scalar_type() == at::kFloat && h.is_contiguous() && h.dim() == 3) {
    const float* x = h.data_ptr<float>();
    float *o = out->data_ptr<float>(), *g = deriv->data_ptr<float>();
    const int64_t block = half * h.size(2);  // one network's sin (or cos) units
    at::parallel_for(0, nets, 1, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) {
        const int64_t first = n * width * h.size(2), second = first + block;
        cpu::sincos(x + first, block, false, o + first, g + first);    // sin units: sin, cos
        cpu::sincos(x + second, block, true, g + second, o + second);  // cos units: -sin, cos
      }
    });
    return;
  }
  const auto h1 = h.narrow(1, 0, half), h2 = h.narrow(1, half, rest);
  if (out) {
    auto o1 = out->narrow(1, 0, half), o2 = out->narrow(1, half, rest);
    at::sin_out(o1, h1);
    at::cos_out(o2, h2);
  }
  if (deriv) {
    auto d1 = deriv->narrow(1, 0, half), d2 = deriv->narrow(1, half, rest);
    at::cos_out(d1, h1);
    at::sin_out(d2, h2);
    d2.neg_();
  }
}

// sincos_parts as one autograd function: one output buffer, and a backward that writes the derivative into one
// buffer instead of autograd's slices, zero-padded gradients and their sum.
struct SinCos : public torch::autograd::Function<SinCos> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& h) {
    ctx->save_for_backward({h});
    at::Tensor out;
    sincos_parts(h, &out, nullptr);
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    at::Tensor d;
    sincos_parts(ctx->get_saved_variables()[0], nullptr, &d);
    return {grads[0] * d};
  }
};

}  // namespace

at::Tensor sincos_activation(const at::Tensor& h) {
  RKHS_CHECK(h.dim() >= 2 && h.size(1) % 2 == 0, "sincos activation: dim 1 must have an even size");
  return SinCos::apply(h);
}

at::Tensor NeuralEFImpl::raw(const at::Tensor& x) {
  RKHS_CHECK(x.dim() == 2 && x.size(1) == options.input_dim,
             "NeuralEF: expected inputs (B, " + std::to_string(options.input_dim) + ")");
  // Features first, (k, d, B): every network's units of one layer are contiguous, so the sin and cos halves are
  // two contiguous blocks per network (the same batch for every network).
  at::Tensor h;
  const bool cnn = options.architecture == "cnn";
  if (cnn) {
    const auto& s = options.image_shape;
    auto img = x.reshape({x.size(0), s[0], s[1], s[2]});
    auto c = pool_relu(bn1->forward(torch::conv2d(img, conv1, conv1_bias, 1, 1)));
    c = pool_relu(bn2->forward(torch::conv2d(c, conv2, conv2_bias, at::IntArrayRef{1}, at::IntArrayRef{0},
                                             at::IntArrayRef{1}, options.k)));  // (B, k * c2, h, w)
    h = c.reshape({x.size(0), options.k, -1}).permute({1, 2, 0});               // (k, F, B)
  } else {
    h = x.t().unsqueeze(0).expand({weights[0].size(0), x.size(1), x.size(0)});
  }
  for (size_t l = 0; l < weights.size(); ++l) {
    // weights[l] (nets, in, out), biases[l] (nets, 1, out): h <- W^T h + b, (nets, out, B)
    h = torch::baddbmm(biases[l].transpose(1, 2), weights[l].transpose(1, 2), h);
    if (l + 1 == weights.size()) break;
    if (cnn) {
      h = h.relu();
    } else if (activation_ == Activation::sincos) {
      h = SinCos::apply(h);
    } else if (activation_ == Activation::relu) {
      h = h.relu();
    } else {
      h = h.tanh();
    }
  }
  return options.shared_trunk ? h.squeeze(0).t() : h.squeeze(1).t();  // (B, k)
}

bool NeuralEFImpl::cpu_loops(const at::Tensor& h, size_t layer) const {
  return h.device().is_cpu() && h.scalar_type() == at::kFloat && (h.is_contiguous() || h.stride(0) == 0) &&
         weights[layer].is_contiguous() && biases[layer].is_contiguous() &&
         weights[layer].scalar_type() == at::kFloat && biases[layer].scalar_type() == at::kFloat;
}

at::Tensor NeuralEFImpl::raw_taped(const at::Tensor& x) {
  RKHS_CHECK(options.architecture == "mlp", "NeuralEF: the taped forward is for the mlp architecture");
  RKHS_CHECK(x.dim() == 2 && x.size(1) == options.input_dim,
             "NeuralEF: expected inputs (B, " + std::to_string(options.input_dim) + ")");
  torch::NoGradGuard g;
  tape_inputs_.clear();
  tape_derivatives_.clear();
  const int64_t nets = weights[0].size(0), batch = x.size(0);
  auto h = x.t().unsqueeze(0).expand({nets, x.size(1), batch});  // (nets, d, B), as raw()
  for (size_t l = 0; l < weights.size(); ++l) {
    tape_inputs_.push_back(h);
    const int64_t in = weights[l].size(1), out = weights[l].size(2);
    if (cpu_loops(h, l) && (in == 1 || out == 1)) {  // an outer or a dot product per network: mlp_kernels.h
      auto next = torch::empty({nets, out, batch}, x.options());
      if (in == 1) {
        cpu::one_input_forward(h.select(0, 0).contiguous().data_ptr<float>(), weights[l].data_ptr<float>(),
                               biases[l].data_ptr<float>(), nets, out, batch, next.data_ptr<float>());
      } else {
        cpu::one_output_forward(h.data_ptr<float>(), weights[l].data_ptr<float>(), biases[l].data_ptr<float>(), nets,
                                in, batch, next.data_ptr<float>());
      }
      h = next;
    } else {
      h = torch::baddbmm(biases[l].transpose(1, 2), weights[l].transpose(1, 2), h);
    }
    if (l + 1 == weights.size()) break;
    at::Tensor d;
    if (activation_ == Activation::sincos) {  // sin, cos and their derivatives cos, -sin
      at::Tensor out;
      sincos_parts(h, &out, &d);
      h = out;
    } else if (activation_ == Activation::relu) {
      d = (h > 0).to(h.scalar_type());
      h = h.relu();
    } else {
      h = h.tanh();
      d = 1 - h.square();
    }
    tape_derivatives_.push_back(d);
  }
  return options.shared_trunk ? h.squeeze(0).t() : h.squeeze(1).t();  // (B, k)
}

void NeuralEFImpl::backward_taped(const at::Tensor& raw_grad) {
  RKHS_CHECK(tape_inputs_.size() == weights.size(), "NeuralEF: backward_taped needs a raw_taped forward first");
  torch::NoGradGuard g;
  // dl/dh of the last layer, (nets, out, B); then per layer h = W^T a + b: dW = a g^T, db = sum_B g, da = W g.
  auto grad = options.shared_trunk ? raw_grad.t().unsqueeze(0) : raw_grad.t().unsqueeze(1);
  // A layer with one input (the 1-D data) or one output (each network's last layer) is an outer product or a dot
  // product per point: broadcast products and sums there, which cost a third of the batched matrix products.
  for (size_t l = weights.size(); l-- > 0;) {
    const auto& a = tape_inputs_[l];
    const int64_t in = weights[l].size(1), out = weights[l].size(2), nets = a.size(0), batch = a.size(2);
    if (cpu_loops(a, l) && out == 1 && l > 0) {  // mlp_kernels.h; the gradient at the previous pre-activation too
      const auto gc = grad.contiguous();
      auto dw = torch::empty_like(weights[l]), db = torch::empty_like(biases[l]), ga = torch::empty_like(a);
      cpu::one_output_backward(a.data_ptr<float>(), weights[l].data_ptr<float>(), gc.data_ptr<float>(),
                               tape_derivatives_[l - 1].data_ptr<float>(), nets, in, batch, dw.data_ptr<float>(),
                               db.data_ptr<float>(), ga.data_ptr<float>());
      weights[l].mutable_grad() = dw;
      biases[l].mutable_grad() = db;
      grad = ga;
      continue;
    }
    if (cpu_loops(a, l) && in == 1) {
      const auto gc = grad.contiguous();
      auto dw = torch::empty_like(weights[l]), db = torch::empty_like(biases[l]);
      cpu::one_input_backward(a.select(0, 0).contiguous().data_ptr<float>(), gc.data_ptr<float>(), nets, out, batch,
                              dw.data_ptr<float>(), db.data_ptr<float>());
      weights[l].mutable_grad() = dw;
      biases[l].mutable_grad() = db;
      if (l == 0) break;
      grad = torch::bmm(weights[l], gc).mul_(tape_derivatives_[l - 1]);
      continue;
    }
    if (out == 1) {
      weights[l].mutable_grad() = (a * grad).sum(2, true);  // (nets, in, 1)
    } else if (in == 1) {
      weights[l].mutable_grad() = (a * grad).sum(2).unsqueeze(1);  // (nets, 1, out)
    } else {
      weights[l].mutable_grad() = torch::bmm(a, grad.transpose(1, 2));
    }
    biases[l].mutable_grad() = grad.sum(2).unsqueeze(1);
    if (l == 0) break;
    grad = (out == 1 ? weights[l] * grad : torch::bmm(weights[l], grad)).mul_(tape_derivatives_[l - 1]);
  }
  tape_inputs_.clear();
  tape_derivatives_.clear();
}

at::Tensor NeuralEFImpl::forward(const at::Tensor& x) {
  auto psi = raw(x);
  if (!is_training()) {
    if (whitening.numel() > 0) return psi.mm(whitening.t().to(psi.scalar_type()));  // SpIN L^-1 f, Rayleigh-Ritz
    return psi / norm_ema.to(psi.scalar_type());
  }
  auto norm = psi.square().mean(0).sqrt().clamp_min(1e-8);  // (k,), L2BN (eq. 16)
  update_norm_ema(norm);
  return psi / norm;
}

void NeuralEFImpl::update_norm_ema(const at::Tensor& norm) {
  torch::NoGradGuard g;
  const auto n = norm.detach().to(norm_ema.scalar_type());
  // The first training batch sets the EMA, later ones blend into it; decided on the device (no host sync).
  const auto blended = norm_ema * options.momentum + n * (1 - options.momentum);
  norm_ema.copy_(torch::where(initialised != 0, blended, n));
  initialised.fill_(1);
}

at::Tensor neuralef_loss(const at::Tensor& kmat, const at::Tensor& psi) {
  const int64_t b = psi.size(0), k = psi.size(1);
  auto kpsi = kmat.mm(psi);  // (B, k)
  at::Tensor loss = torch::zeros({}, psi.options());
  for (int64_t j = 0; j < k; ++j) {
    auto pj = psi.select(1, j);
    auto term = pj.dot(kpsi.select(1, j));
    for (int64_t i = 0; i < j; ++i) {
      auto pi = psi.select(1, i).detach();
      // The stop-gradient of eq. 17 on psi_i (in R_ij and R_ii): the reading under which its gradient is eq. 18.
      auto rij = pi.dot(kmat.mv(pj));
      auto rii = pi.dot(kmat.mv(pi));
      term = term - rij.square() / rii;
    }
    loss = loss + term;
  }
  return -loss / double(b * b);
}

namespace {

// Eq. 18 from K Psi (rows of the batch, (b, k)) and R = Psi^T K Psi (k, k) of a batch of B points:
// U_ij = R_ij / R_ii for i < j, G = -2 / B^2 K Psi (I - U).
at::Tensor output_gradient(const at::Tensor& kpsi, const at::Tensor& r, int64_t batch) {
  auto u = (r / r.diagonal().unsqueeze(1)).triu(1);
  auto gmat = kpsi - kpsi.mm(u);
  return gmat * (-2.0 / double(batch * batch));
}

}  // namespace

at::Tensor neuralef_output_gradient(const at::Tensor& kmat, const at::Tensor& psi) {
  torch::NoGradGuard g;
  auto kpsi = kmat.mm(psi);
  return output_gradient(kpsi, psi.t().mm(kpsi), psi.size(0));
}

void check_training_inputs(const NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                           const NeuralEFTrainOptions& o, const std::string& who) {
  const bool features = o.kernel_features.defined();
  RKHS_CHECK(kernel || features, who + ": no kernel");
  RKHS_CHECK(!features || (o.kernel_features.dim() == 2 && o.kernel_features.size(0) == x.size(0)),
             who + ": kernel_features must have one row per training point");
  RKHS_CHECK(x.dim() == 2 && x.size(0) >= 2 && x.size(1) == net->options.input_dim,
             who + ": expected at least 2 training points of dimension " + std::to_string(net->options.input_dim));
  RKHS_CHECK(o.iterations >= 1 && o.batch_size >= 2 && o.lr > 0, who + ": iterations, batch size and lr must be positive");
  RKHS_CHECK(torch::isfinite(x).all().item<bool>(), who + ": the training points have NaN or infinite entries");
}

EigenBatches::EigenBatches(const at::Tensor& x, const kernels::KernelPtr& kernel, const NeuralEFTrainOptions& o,
                           at::Generator gen)
    : x_(x), kernel_(kernel), o_(o), gen_(std::move(gen)), n_(x.size(0)), bsz_(std::min(o.batch_size, x.size(0))),
      pos_(x.size(0)) {}

std::pair<at::Tensor, at::Tensor> EigenBatches::next() {
  if (pos_ + bsz_ > n_) {
    perm_ = torch::randperm(n_, gen_, torch::TensorOptions().dtype(torch::kLong)).to(x_.device());
    pos_ = 0;
  }
  const auto idx = perm_.slice(0, pos_, pos_ + bsz_);
  pos_ += bsz_;
  auto xb = x_.index({idx});
  torch::NoGradGuard g;
  if (o_.kernel_features.defined()) {
    auto fb = o_.kernel_features.index({idx});
    return {xb, fb.mm(fb.t()).to(xb.scalar_type())};
  }
  return {xb, kernel_->gram(xb, xb).to(xb.scalar_type())};
}

core::LoopOptions iteration_loop(const std::string& label, const NeuralEFTrainOptions& o, const c10::Device& device) {
  core::LoopOptions lo;
  lo.label = label;
  lo.steps = o.iterations;
  lo.progress = o.progress;
  lo.who = label;
  lo.hint = "lower --lr";
  core::Schedule cosine;  // from o.lr to 0 over the iterations
  cosine.kind = core::ScheduleKind::cosine;
  cosine.lr = o.lr;
  cosine.steps_per_epoch = o.iterations;
  lo.schedule = cosine;
  lo.report_every = core::report_interval(device);
  return lo;
}

void finish_report(NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                   const NeuralEFTrainOptions& o, at::Generator& gen, NeuralEFReport& r,
                   const std::function<void(const at::Tensor&)>& prepare) {
  const bool features = o.kernel_features.defined();
  const int64_t n = x.size(0);
  // Rayleigh quotients on (a random subset of) the data, in evaluation mode, float64.
  const auto t = std::chrono::steady_clock::now();
  net->eval();
  {
    torch::NoGradGuard g;
    auto sel = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    if (n > o.rayleigh_points)
      sel = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).slice(0, 0, o.rayleigh_points).to(x.device());
    auto xs = x.index({sel});
    if (prepare) prepare(xs);
    auto psi = net->forward(xs).to(torch::kFloat64);
    auto xd = xs.to(torch::kFloat64);
    const double m = double(xd.size(0));
    // A = Psi^T K Psi / m^2 and G = Psi^T Psi / m over the selected points, (k, k): one pass over the kernel.
    at::Tensor a;
    if (features) {  // Psi^T Phi Phi^T Psi
      auto fp = o.kernel_features.index({sel}).to(torch::kFloat64).t().mm(psi);
      a = fp.t().mm(fp);
    } else {
      a = torch::zeros({psi.size(1), psi.size(1)}, psi.options());
      for (int64_t i = 0; i < xd.size(0); i += 2048) {
        auto rows = kernel->gram(xd.slice(0, i, std::min(xd.size(0), i + 2048)), xd);  // (b, m)
        a += psi.slice(0, i, i + rows.size(0)).t().mm(rows.mm(psi));
      }
    }
    a = (a + a.t()) / (2 * m * m);
    auto gm = psi.t().mm(psi) / m;
    // The span of the learned functions, whitened: W = U S^-1/2 over G's eigenvalues above 1e-10 of the largest
    // (a dead or duplicated network adds no direction).
    auto [s, u] = compat::eigh(gm);
    const auto keep = torch::nonzero(s > 1e-10 * s.max().clamp_min(1e-300)).squeeze(1);
    auto w = u.index_select(1, keep) / s.index_select(0, keep).sqrt().unsqueeze(0);  // (k, r)
    auto c = w.t().mm(a).mm(w);
    c = (c + c.t()) / 2;  // A in an orthonormal basis of the span, (r, r)
    // Ky Fan: for orthonormal q_1..q_r (unit mean square), sum_j q_j^T K q_j / m^2 <= mu_1 + ... + mu_r, with
    // equality exactly for the top eigenspace. A criterion for comparing runs without any reference.
    r.captured_trace = c.trace().item<double>();
    const int64_t k = psi.size(1), rank = keep.size(0);
    if (o.rayleigh_ritz && rank < k) {
      warn("Rayleigh-Ritz skipped: the " + std::to_string(k) + " learned functions span only " + std::to_string(rank) +
           " dimensions on the data (a dead or duplicated network); the per-network Rayleigh quotients are reported");
    } else if (o.rayleigh_ritz) {
      // Rayleigh-Ritz: the k x k problem A v = mu G v; the functions Psi V (V^T G V = I) are orthonormal on the
      // points and their Rayleigh quotients mu are the best top-k estimates within the span.
      auto [mu, z] = compat::eigh(c);
      auto v = w.mm(z.flip(1));  // descending mu
      // Evaluation maps raw outputs f to f B (B = diag(1 / norm EMA), or SpIN's L^-T); now to f B V.
      auto b = net->whitening.numel() > 0 ? net->whitening.t().to(torch::kFloat64)
                                           : torch::diag(1.0 / net->norm_ema.to(torch::kFloat64));
      auto bv = b.mm(v).t().contiguous();
      net->whitening.resize_(bv.sizes()).copy_(bv.to(net->whitening.scalar_type()));
      a = v.t().mm(a).mm(v);
      gm = v.t().mm(gm).mm(v);
      r.rayleigh_ritz = true;
    }
    const auto mass = gm.diagonal();
    // An eigenfunction that is identically zero on the data (a dead network) has no Rayleigh quotient: 0, said.
    const auto dead = mass <= 0;
    if (dead.any().item<bool>())
      warn("eigenfunction network(s) " + std::to_string(dead.sum().item<int64_t>()) + " of " +
           std::to_string(psi.size(1)) + " output exactly zero on the data; their eigenvalues are reported as 0");
    r.eigenvalues = torch::where(dead, torch::zeros_like(mass), a.diagonal() / mass.clamp_min(1e-300)).cpu();
  }
  r.rayleigh_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

namespace {

// neuralef_step's L2BN, eq. 18 and L2BN's backward in one process on the CPU in float, as loops over the (B, k)
// outputs instead of ~40 small ATen operations (the same formulas; tests/spectral/test_neuralef_fast.cpp checks them
// against autograd of eq. 17 through L2BN).
void cpu_step(NeuralEF& net, const at::Tensor& rd, const at::Tensor& kb, NeuralEFStep& s) {
  const int64_t batch = rd.size(0), k = rd.size(1);
  const auto raw = rd.contiguous();
  const float* r = raw.data_ptr<float>();
  std::vector<double> norm(k, 0.0), c(k, 0.0), rm(k * k, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < k; ++j) norm[j] += double(r[b * k + j]) * r[b * k + j];
  auto norm_t = torch::empty({k}, rd.options());
  for (int64_t j = 0; j < k; ++j) {
    norm[j] = std::max(std::sqrt(norm[j] / double(batch)), 1e-8);
    norm_t.data_ptr<float>()[j] = float(norm[j]);
  }
  net->update_norm_ema(norm_t);
  auto psi = torch::empty({batch, k}, rd.options());
  float* p = psi.data_ptr<float>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < k; ++j) p[b * k + j] = float(r[b * k + j] / norm[j]);
  const auto kpsi = kb.mm(psi).contiguous();  // K Psi (B, k)
  const float* kp = kpsi.data_ptr<float>();
  for (int64_t b = 0; b < batch; ++b)  // R = Psi^T K Psi
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) rm[i * k + j] += double(p[b * k + i]) * kp[b * k + j];
  // Eq. 18: dl/dPsi_j = -2/B^2 (K psi_j - sum_{i<j} U_ij K psi_i), U_ij = R_ij / R_ii; c_j = sum_b dl/dPsi_bj raw_bj.
  const double scale = -2.0 / double(batch * batch);
  std::vector<double> u(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j) u[i * k + j] = rm[i * k + j] / rm[i * k + i];
  s.raw_grad = torch::empty({batch, k}, rd.options());
  float* g = s.raw_grad.data_ptr<float>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < k; ++j) {
      double v = kp[b * k + j];
      for (int64_t i = 0; i < j; ++i) v -= u[i * k + j] * kp[b * k + i];
      g[b * k + j] = float(v * scale);
      c[j] += v * scale * r[b * k + j];
    }
  // Through L2BN: dl/draw = dl/dPsi / norm - raw c / (B norm^3).
  std::vector<double> inv(k), shift(k);
  for (int64_t j = 0; j < k; ++j) {
    inv[j] = 1.0 / norm[j];
    shift[j] = c[j] / (double(batch) * norm[j] * norm[j] * norm[j]);
  }
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < k; ++j) g[b * k + j] = float(g[b * k + j] * inv[j] - r[b * k + j] * shift[j]);
  double check = 0;
  for (int64_t j = 0; j < k; ++j) check += 0 * c[j];
  s.rmat = torch::empty({k, k}, rd.options());
  float* rt = s.rmat.data_ptr<float>();
  for (int64_t i = 0; i < k * k; ++i) rt[i] = float(rm[i]);
  s.check = torch::scalar_tensor(check, rd.options());
}

}  // namespace

NeuralEFStep neuralef_step(NeuralEF& net, const at::Tensor& xb, const at::Tensor& kb, int64_t iteration, bool taped) {
  // Several processes (docs/DISTRIBUTED.md): every rank has the batch's kernel matrix K (B, B) and forwards its
  // share of the B rows; the L2BN norms, R and the norms' share of the gradient are summed over the ranks, so that
  // the ranks' parameter gradients sum to one process's. In one process the sums are the values themselves.
  auto& dist = core::DistWorld::get();
  const int64_t batch = xb.size(0);
  const auto [begin, end] = core::shard_range(batch, dist.rank(), dist.size());
  NeuralEFStep s;
  const auto rows = xb.slice(0, begin, end);
  s.raw = taped ? net->raw_taped(rows) : net->raw(rows);  // (b_r, k)
  torch::NoGradGuard g;
  const auto rd = s.raw.detach();
  if (!dist.active() && rd.device().is_cpu() && rd.scalar_type() == at::kFloat && kb.scalar_type() == at::kFloat) {
    cpu_step(net, rd, kb, s);
    return s;
  }
  const std::string at = " of iteration " + std::to_string(iteration + 1);
  const auto norm = (dist.sum_over_ranks(rd.square().sum(0), "the L2BN norms" + at) / double(batch)).sqrt().clamp_min(1e-8);
  net->update_norm_ema(norm);
  const auto psi = rd / norm;
  const auto kpsi = kb.slice(0, begin, end).mm(dist.all_gather_rows(psi, "the outputs" + at));  // K Psi, own rows
  s.rmat = dist.sum_over_ranks(psi.t().mm(kpsi), "R = Psi^T K Psi" + at);
  const auto gpsi = output_gradient(kpsi, s.rmat, batch);  // dl/dPsi, own rows
  // Through Psi = raw / norm, norm^2 = sum over the batch of raw^2 / B (per column):
  // dl/draw = dl/dPsi / norm - raw * c / (B norm^3), c = sum over the batch of dl/dPsi * raw.
  const auto c = dist.sum_over_ranks((gpsi * rd).sum(0), "the L2BN gradient" + at);
  s.raw_grad = gpsi / norm - rd * (c / (double(batch) * norm.pow(3)));
  s.check = 0 * c.sum();
  return s;
}

namespace {

// The optimizer of train_neuralef: in one process on the CPU, Adam as one loop per parameter (core::CpuAdam,
// LibTorch's update), else torch::optim::Adam.
class NeuralEFAdam {
 public:
  NeuralEFAdam(const std::vector<at::Tensor>& params, double lr, bool cpu_loop) {
    if (cpu_loop && core::CpuAdam::supports(params)) {
      cpu_.emplace(params, lr);
    } else {
      torch_.emplace(params, torch::optim::AdamOptions(lr));
    }
  }
  void set_lr(double lr) {
    if (cpu_) {
      cpu_->set_lr(lr);
    } else {
      static_cast<torch::optim::AdamOptions&>(torch_->param_groups()[0].options()).lr(lr);
    }
  }
  void zero_grad() {
    if (torch_) torch_->zero_grad();
  }
  void step() {
    if (cpu_) {
      cpu_->step();
    } else {
      torch_->step();
    }
  }

 private:
  std::optional<core::CpuAdam> cpu_;
  std::optional<torch::optim::Adam> torch_;
};

// After a step with R = step.rmat: the eigenvalue estimates' moving average (diag R / B^2) and eq. 17's value,
// -(sum_j R_jj - sum_{i<j} R_ij^2 / R_ii) / B^2, plus `check` (0 * sum(grad)), which makes it non-finite whenever
// the gradient is, so the loop's guard stops a step that would write NaN into the networks.
at::Tensor record_step(NeuralEF& net, const NeuralEFStep& step, int64_t bsz, int64_t iteration) {
  torch::NoGradGuard g;
  const auto& rmat = step.rmat;
  auto est = rmat.diagonal().to(torch::kFloat64) / double(bsz * bsz);
  if (iteration == 0) {
    net->eigenvalues.copy_(est);
  } else {
    net->eigenvalues.mul_(net->options.momentum).add_(est.to(net->eigenvalues.scalar_type()), 1 - net->options.momentum);
  }
  return -(rmat.diagonal().sum() - (rmat.square() / rmat.diagonal().unsqueeze(1)).triu(1).sum()) / double(bsz * bsz) +
         step.check;
}

}  // namespace

NeuralEFReport train_neuralef(NeuralEF& net, const kernels::KernelPtr& kernel, const at::Tensor& x,
                              const NeuralEFTrainOptions& o) {
  check_training_inputs(net, kernel, x, o, "NeuralEF");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  EigenBatches batches(x, kernel, o, gen);
  const int64_t bsz = batches.size();
  // In one process the mlp networks' backward runs by hand (raw_taped) and, on the CPU, Adam is one loop per
  // parameter (NeuralEFAdam); across processes the backward runs through autograd, whose gradient hooks start the
  // overlapped reduction.
  auto& dist = core::DistWorld::get();
  const bool taped = !dist.active() && net->options.architecture == "mlp";
  NeuralEFAdam opt(net->parameters(), o.lr, taped);
  net->train();
  net->whitening.resize_({0});  // a Rayleigh-Ritz rotation of an earlier training no longer applies
  NeuralEFReport r;
  core::LoopHooks hooks;
  hooks.set_lr = [&](double lr) { opt.set_lr(lr); };
  at::Tensor psi, grad;  // of the step whose update is pending
  core::LossMeter meter;
  // Several processes: every rank starts from rank 0's networks and draws the same batches.
  RKHS_CHECK(!dist.active() || bsz >= dist.size(), "NeuralEF: the batch (" + std::to_string(bsz) +
                                                       ") must have at least one point per process");
  if (dist.active()) {
    std::vector<at::Tensor> state = net->parameters();
    for (const auto& b : net->buffers()) state.push_back(b);
    dist.broadcast(state, 0, "the initial networks");
  }
  const auto overlapped = dist.overlapped_gradients(net->parameters());
  hooks.step = [&](const core::Step& s) {
    auto [xb, kb] = batches.next();
    auto step = neuralef_step(net, xb, kb, s.global, taped);
    psi = step.raw;  // this process's raw outputs and their gradient
    grad = step.raw_grad;
    meter.add(record_step(net, step, bsz, s.global));
    return meter.finish(s);  // read every step on the CPU, every LoopOptions::report_every steps elsewhere
  };
  hooks.update = [&](const core::Step& s) {
    if (taped) {
      net->backward_taped(grad);  // replaces every parameter's gradient
    } else {
      opt.zero_grad();
      dist.backward_and_sum(overlapped.get(), [&] { psi.backward(grad); }, net->parameters(),
                            "the gradients of iteration " + std::to_string(s.global + 1));
    }
    opt.step();
  };
  r.train_seconds = core::run_loop(iteration_loop("NeuralEF", o, x.device()), hooks).seconds;
  if (dist.active()) {  // batch norms (--arch cnn) use each rank's rows: rank 0's running statistics for all
    const auto buffers = net->buffers();
    dist.broadcast(buffers, 0, "the networks' buffers");
  }
  r.ema_eigenvalues = net->eigenvalues.to(torch::kCPU, torch::kFloat64).clone();
  finish_report(net, kernel, x, o, gen, r);
  return r;
}

}  // namespace rkhs::spectral
