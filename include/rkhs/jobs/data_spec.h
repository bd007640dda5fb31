#pragma once
// Data sets named on the command line: "sphere", "moons", "circles", "fashion-mnist", "csv:PATH",
// "libsvm:PATH", "idx:IMAGES,LABELS".
#include "rkhs/data/dataset.h"

#include <optional>
#include <string>

namespace rkhs::jobs {

struct DataSplit {
  data::Dataset train;
  data::Dataset test;
  std::optional<data::Dataset> validation;
  // Accuracy of the Bayes-optimal classifier of the generative model (synthetic sphere data only).
  std::optional<double> bayes_accuracy;
  // Empirical accuracy of that classifier on the drawn test set (sphere only).
  std::optional<double> bayes_test_accuracy;
  std::string description;  // one line: what was loaded, sizes, preprocessing
};

struct DataRequest {
  std::string spec = "sphere";   // training data (and test data for the built-in sets)
  std::string test_spec;         // optional separate test file (csv:, libsvm:, idx:)
  double test_fraction = 0.2;    // stratified hold-out when a file has no separate test file
  double validation_fraction = 0;  // stratified validation split taken from the training part
  int64_t train_size = 0;        // 0 = the data set's default; else a stratified subset of this size
  int64_t test_size = 0;         // 0 = all; else a stratified subset of the test set
  bool standardize = true;       // vector features: standardise with training statistics
  uint64_t seed = 0;             // synthetic draws and splits
};

// Loads and splits; throws rkhs::Error with the file/line for bad files and for unknown specs.
DataSplit load_data(const DataRequest& request);

// True for the built-in generators and data sets ("sphere", ...), false for file specs.
bool is_builtin_data(const std::string& spec);

}  // namespace rkhs::jobs
