#pragma once
// The autoencoder's predictions shrunk towards the user+item bias model for items with few training ratings
// (issue 26, the default of `rkhs recommend`):
//   p_ui = b_ui + n_i / (n_i + c) * (a_ui - b_ui),
// a the AutoRec prediction, b the bias model's, n_i the item's number of training ratings and c >= 0 chosen on
// validation ratings (c = 0: the autoencoder alone, the paper's model; c = inf: the bias model alone). Why: an
// item-based autoencoder sees a rare item through a nearly empty input vector and loses to the bias model there,
// while it wins on items with many ratings (docs/RESULTS.md, MovieLens, RMSE by the item's training ratings).
#include <cstdint>
#include <vector>

namespace rkhs::kernelnet {

struct Shrinkage {
  double c = 0;                              // the chosen constant (may be +inf)
  std::vector<double> grid, validation_rmse;  // every value tried and its validation RMSE
};

// {0, 1, 3, 10, 30, 100, 300, 1000, inf}.
std::vector<double> shrinkage_grid();

// The shrunk prediction (not clipped): c = 0 gives a (also for n = 0), c = inf gives b.
double shrink(double a, double b, double n, double c);

// RMSE of the clipped shrunk predictions against target.
double shrinkage_rmse(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& n,
                      const std::vector<float>& target, double c, float lo, float hi);

// The c of grid with the lowest RMSE on the given (validation) ratings; ties go to the earlier value.
Shrinkage choose_shrinkage(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& n,
                           const std::vector<float>& target, const std::vector<double>& grid, float lo, float hi);

}  // namespace rkhs::kernelnet
