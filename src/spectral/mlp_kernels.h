// Internal: NeuralEF's one-process CPU loops for the layers of the k networks that have one input (the first layer
// on 1-D data) or one output (each network's last layer), which batched matrix products would run as k outer or dot
// products of one row. Layouts are features-first, as NeuralEFImpl::raw_taped keeps them: activations (nets, F, B),
// weights (nets, in, out), biases (nets, 1, out), all contiguous float.
#pragma once

#include <cstdint>

namespace rkhs::spectral::cpu {

// h[n][o][j] = w[n][o] x[j] + b[n][o]: the first layer on 1-D inputs x (B).
void one_input_forward(const float* x, const float* w, const float* b, int64_t nets, int64_t out, int64_t batch,
                       float* h);
// Its parameter gradients from g = dl/dh (nets, out, B): dw[n][o] = sum_j x[j] g[n][o][j], db[n][o] = sum_j g[n][o][j].
void one_input_backward(const float* x, const float* g, int64_t nets, int64_t out, int64_t batch, float* dw, float* db);

// y[n][j] = sum_i w[n][i] a[n][i][j] + b[n]: a last layer with one output per network.
void one_output_forward(const float* a, const float* w, const float* b, int64_t nets, int64_t in, int64_t batch,
                        float* y);
// Its backward from g = dl/dy (nets, B): dw[n][i] = sum_j a[n][i][j] g[n][j], db[n] = sum_j g[n][j], and the
// gradient at the previous layer's pre-activation, ga[n][i][j] = w[n][i] g[n][j] d[n][i][j] (d: that activation's
// derivative).
void one_output_backward(const float* a, const float* w, const float* g, const float* d, int64_t nets, int64_t in,
                         int64_t batch, float* dw, float* db, float* ga);

}  // namespace rkhs::spectral::cpu
