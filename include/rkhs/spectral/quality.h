#pragma once
// How close learned eigenpairs are to reference ones (paper 002 §5, REFERENCE.md §3).
#include <ATen/core/Tensor.h>

namespace rkhs::spectral {

// |est_j - ref_j| / |ref_j| per eigenvalue: (k,) float64.
at::Tensor eigenvalue_relative_error(const at::Tensor& estimated, const at::Tensor& reference);
// Sign-free alignment per eigenfunction: |cos| between column j of a and of b (m, k) evaluated on the same points;
// (k,) float64, 0 for a zero column.
at::Tensor alignment(const at::Tensor& a, const at::Tensor& b);
// ||Psi^T Psi / m - I||_F for Psi (m, k): 0 for orthonormal eigenfunctions (unit mean square).
double orthogonality_error(const at::Tensor& psi);
// How well k eigenpairs reconstruct the kernel on m points (held-out ones, so the functions are tested out of
// sample): ||K - Psi diag(mu) Psi^T||_F / ||K||_F for K (m, m), Psi (m, k) with unit mean square and mu (k,) the
// operator eigenvalues (Mercer: k(x, x') ~ sum_j mu_j psi_j(x) psi_j(x')). float64.
double reconstruction_error(const at::Tensor& kmat, const at::Tensor& psi, const at::Tensor& mu);
// The smallest that error can be for any matrix of rank k (Eckart-Young): sqrt(sum_{j > k} lambda_j^2) / ||K||_F
// over the eigenvalues of the symmetric K (m, m). float64.
double best_rank_k_error(const at::Tensor& kmat, int64_t k);

// K-means (Lloyd's algorithm, k-means++ seeding, the best of `restarts` runs by inertia) of the rows of x (m, d)
// into `clusters` groups: (m,) int64 cluster indices.
at::Tensor kmeans_labels(const at::Tensor& x, int64_t clusters, uint64_t seed, int64_t restarts = 10,
                         int64_t iterations = 300);
// Cluster accuracy: the fraction of points whose cluster, mapped to classes by the best one-to-one matching,
// equals their label (labels in [0, C), clusters in [0, C), C <= 8: every matching is tried).
double cluster_accuracy(const at::Tensor& clusters, const at::Tensor& labels, int64_t classes);

}  // namespace rkhs::spectral
