#pragma once
// The regularised user + item bias baseline of recommender systems: r_ui ~ mu + b_u + b_i, minimising
// sum (r - mu - b_u - b_i)^2 + lambda (sum b_u^2 + sum b_i^2) by exact alternating updates (mu = training mean).
#include <cstdint>
#include <vector>

#include "rkhs/data/ratings.h"

namespace rkhs::kernelnet {

struct BiasModel {
  double mu = 0;
  std::vector<double> user_bias, item_bias;
  double predict(int64_t user, int64_t item) const { return mu + user_bias[user] + item_bias[item]; }
};

// `sweeps` alternating passes (items then users), each an exact minimisation over one block.
BiasModel fit_bias(const data::Ratings& train, double lambda, int sweeps = 25);

// RMSE of predictions clipped to [lo, hi].
double bias_rmse(const BiasModel& m, const data::Ratings& r, float lo, float hi);

struct BiasSelection {
  double lambda = 0;                 // selected on the validation split of the training ratings
  std::vector<double> grid, validation_rmse;
  BiasModel model;                   // refit on all training ratings with the selected lambda
};

// Chooses lambda from grid by the RMSE on a random validation_fraction of the training ratings (seeded), then
// refits on all of them. The test ratings are never looked at.
BiasSelection select_bias(const data::Ratings& train, const std::vector<double>& grid, double validation_fraction,
                          uint64_t seed);

}  // namespace rkhs::kernelnet
