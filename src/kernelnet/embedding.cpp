// The 2-D embedding network of paper 004 §3.3 (eq. 9 and 10).
#include "rkhs/kernelnet/embedding.h"

#include <torch/torch.h>

#include <cmath>

#include "rkhs/error.h"

namespace rkhs::kernelnet {

at::Tensor sparsify(const at::Tensor& x, double eta) {
  RKHS_CHECK(x.dim() == 2, "sparsify: expected (B, n) activations");
  RKHS_CHECK(eta >= 0 && eta <= 1, "sparsify: eta must be in [0, 1], got " + std::to_string(eta));
  auto threshold = eta * std::get<0>(x.max(1, true)) + (1 - eta) * x.mean(1, true);
  return (x - threshold).relu();
}

at::Tensor centre_of_mass(const at::Tensor& x, const at::Tensor& v, int64_t* empty) {
  RKHS_CHECK(x.dim() == 2 && v.dim() == 2 && x.size(1) == v.size(0), "centre_of_mass: expected x (B, n) and v (n, d)");
  auto mass = x.sum(1, true);
  auto zero = mass <= 0;
  if (empty) *empty = zero.sum().item<int64_t>();
  auto c = x.matmul(v) / torch::where(zero, torch::ones_like(mass), mass);
  return torch::where(zero, v.mean(0, true).expand_as(c), c);
}

EmbeddingNetImpl::EmbeddingNetImpl(const EmbeddingOptions& o) : options(o) {
  RKHS_CHECK(o.input_dim > 0 && o.classes >= 2 && o.grid >= 2, "embedding network: bad sizes");
  RKHS_CHECK(o.objective == "classifier" || o.objective == "autoencoder",
             "embedding network: objective must be classifier or autoencoder, got '" + o.objective + "'");
  int64_t in = o.input_dim;
  for (size_t i = 0; i < o.encoder.size(); ++i) {
    encoder_.push_back(register_module("enc" + std::to_string(i + 1), torch::nn::Linear(in, o.encoder[i])));
    in = o.encoder[i];
  }
  const double spacing = 1.0 / double(o.grid - 1);
  const double sigma = o.sigma > 0 ? o.sigma : 1.5 * spacing;
  LayerOptions lo;
  lo.in = in;
  lo.out = o.grid * o.grid;
  lo.dim = 2;
  lo.grid_outputs = true;
  lo.kernel = "rbf:sigma=" + std::to_string(sigma);
  kernel_layer_ = register_module("kernel", std::make_shared<KernelLinearImpl>(lo));
  in = lo.out;
  for (size_t i = 0; i < o.decoder.size(); ++i) {
    decoder_.push_back(register_module("dec" + std::to_string(i + 1), torch::nn::Linear(in, o.decoder[i])));
    in = o.decoder[i];
  }
  const int64_t outputs = o.objective == "autoencoder" ? o.input_dim : o.classes;
  decoder_.push_back(register_module("out", torch::nn::Linear(in, outputs)));
}

at::Tensor EmbeddingNetImpl::locations() const { return kernel_layer_->u; }

at::Tensor EmbeddingNetImpl::forward(const at::Tensor& x, at::Tensor* activations) {
  at::Tensor h = x.reshape({x.size(0), -1});
  for (auto& l : encoder_) h = torch::relu(l->forward(h));
  h = sparsify(kernel_layer_->forward(h), options.eta);
  if (activations) *activations = h;
  for (size_t i = 0; i < decoder_.size(); ++i) {
    h = decoder_[i]->forward(h);
    if (i + 1 < decoder_.size()) h = torch::relu(h);
  }
  return h;
}

at::Tensor EmbeddingNetImpl::embed(const at::Tensor& x, int64_t* empty) {
  torch::NoGradGuard no_grad;
  at::Tensor act;
  forward(x, &act);
  return centre_of_mass(act, locations(), empty);
}

}  // namespace rkhs::kernelnet
