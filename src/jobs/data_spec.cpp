#include "rkhs/jobs/data_spec.h"

#include <torch/torch.h>

#include <sstream>

#include "rkhs/data/csv.h"
#include "rkhs/data/idx.h"
#include "rkhs/data/libsvm.h"
#include "rkhs/data/synthetic.h"
#include "rkhs/data/transform.h"
#include "rkhs/error.h"

namespace rkhs::jobs {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// A file spec "csv:PATH", "libsvm:PATH" or "idx:IMAGES,LABELS". For a test file, `like` is the training
// data (its class count and feature count) and `libsvm_labels` the training file's LIBSVM label mapping.
data::Dataset load_file(const std::string& spec, const data::Dataset* like, std::vector<int64_t>* libsvm_labels) {
  const int64_t num_classes = like ? like->num_classes : 0;
  if (starts_with(spec, "csv:")) return data::load_csv(spec.substr(4), num_classes);
  if (starts_with(spec, "libsvm:")) {
    const int64_t features = like && like->x.dim() == 2 ? like->x.size(1) : 0;
    return data::load_libsvm(spec.substr(7), features, libsvm_labels);
  }
  if (starts_with(spec, "idx:")) {
    const std::string rest = spec.substr(4);
    const auto comma = rest.find(',');
    RKHS_CHECK(comma != std::string::npos, "--data " + spec + ": expected idx:IMAGES,LABELS");
    return data::load_idx_dataset(rest.substr(0, comma), rest.substr(comma + 1), rest.substr(0, comma));
  }
  throw Error("unknown data '" + spec +
              "' (expected sphere, moons, circles, fashion-mnist, csv:PATH, libsvm:PATH or idx:IMAGES,LABELS)");
}

int64_t feature_dim(const data::Dataset& d) { return d.x.numel() / std::max<int64_t>(1, d.size()); }

// Paper 000 appendix B: 5000 points per class for training, the same for test, same centres.
void load_sphere(const DataRequest& r, DataSplit& out, std::ostringstream& desc) {
  const auto mixture = data::SphereMixture::draw(r.seed);
  const int64_t per_class = r.train_size > 0 ? std::max<int64_t>(1, r.train_size / 2) : 5000;
  const int64_t test_per_class = r.test_size > 0 ? std::max<int64_t>(1, r.test_size / 2) : 5000;
  out.train = mixture.sample(per_class, r.seed * 2 + 1);
  out.test = mixture.sample(test_per_class, r.seed * 2 + 2);
  out.bayes_accuracy = mixture.bayes_accuracy();
  out.bayes_test_accuracy = mixture.bayes_predict(out.test.x).eq(out.test.y).to(torch::kFloat64).mean().item<double>();
  desc << "sphere: S^2 two-class mixture (paper 000 appendix B), centres seed " << r.seed;
}

void load_moons_or_circles(const DataRequest& r, DataSplit& out, std::ostringstream& desc) {
  int64_t n = r.train_size > 0 ? static_cast<int64_t>(r.train_size / (1 - r.test_fraction)) : 1000;
  double fraction = r.test_fraction;
  if (r.test_size > 0) {  // the training part as without it, plus test_size points held out
    const int64_t train_part = n - static_cast<int64_t>(std::llround(double(n) * r.test_fraction));
    n = train_part + r.test_size;
    fraction = double(r.test_size) / double(n);
  }
  auto all = r.spec == "moons" ? data::make_moons(n, 0.1, r.seed) : data::make_circles(n, 0.05, 0.5, r.seed);
  std::tie(out.train, out.test) = data::stratified_split(all, fraction, r.seed);
  desc << r.spec << ": " << n << " points";
}

// A data file, with a --test file or split, then cut to --train-size / --test-size (stratified).
void load_files(const DataRequest& r, DataSplit& out, std::ostringstream& desc) {
  if (r.spec == "fashion-mnist") {
    out.train = data::load_fashion_mnist(true);
    out.test = data::load_fashion_mnist(false);
    desc << "fashion-mnist";
  } else {
    std::vector<int64_t> libsvm_labels;  // filled by a LIBSVM training file, reused for its test file
    auto train = load_file(r.spec, nullptr, &libsvm_labels);
    if (!r.test_spec.empty()) {
      out.train = train;
      out.test = load_file(r.test_spec, &train, &libsvm_labels);
      RKHS_CHECK(out.test.sample_shape() == out.train.sample_shape(),
                 "--test " + r.test_spec + ": its samples have a different shape than the training data");
      out.test.num_classes = out.train.num_classes = std::max(out.train.num_classes, out.test.num_classes);
    } else {
      std::tie(out.train, out.test) = data::stratified_split(train, r.test_fraction, r.seed);
    }
    desc << r.spec;
  }
  if (r.train_size > 0 && r.train_size < out.train.size())
    out.train = data::take_stratified(out.train, r.train_size, r.seed);
  if (r.test_size > 0 && r.test_size < out.test.size())
    out.test = data::take_stratified(out.test, r.test_size, r.seed + 1);
}

void split_validation(const DataRequest& r, DataSplit& out) {
  auto [train, val] = data::stratified_split(out.train, r.validation_fraction, r.seed + 7);
  out.train = train;
  out.validation = val;
  RKHS_CHECK(out.train.size() > 0 && val.size() > 0, "--validation-fraction " + std::to_string(r.validation_fraction) +
                                                          " leaves an empty training or validation part");
}

// Vectors: per-feature standardisation from the training part only; images: one mean and standard deviation over
// all training pixels.
void standardize(DataSplit& out, bool vector_features, std::ostringstream& desc) {
  if (vector_features) {
    const auto s = data::Standardizer::fit(out.train.x);
    out.train.x = s.apply(out.train.x);
    out.test.x = s.apply(out.test.x);
    if (out.validation) out.validation->x = s.apply(out.validation->x);
    desc << ", features standardised (training statistics)";
    return;
  }
  const double mean = out.train.x.mean().item<double>();
  const double stdev = std::max(out.train.x.std().item<double>(), 1e-12);
  out.train.x = (out.train.x - mean) / stdev;
  out.test.x = (out.test.x - mean) / stdev;
  if (out.validation) out.validation->x = (out.validation->x - mean) / stdev;
  desc << ", pixels standardised (training mean/std)";
}

}  // namespace

bool is_builtin_data(const std::string& spec) {
  return spec == "sphere" || spec == "moons" || spec == "circles" || spec == "fashion-mnist";
}

DataSplit load_data(const DataRequest& r) {
  RKHS_CHECK(r.test_fraction > 0 && r.test_fraction < 1, "--test-fraction must be in (0, 1)");
  RKHS_CHECK(r.validation_fraction >= 0 && r.validation_fraction < 1, "--validation-fraction must be in [0, 1)");
  RKHS_CHECK(r.train_size >= 0 && r.test_size >= 0, "--train-size and --test-size must be >= 0");
  RKHS_CHECK(r.test_spec.empty() || !is_builtin_data(r.spec),
             "--test applies to data files (csv:, libsvm:, idx:); --data " + r.spec + " makes its own test set");
  DataSplit out;
  std::ostringstream desc;
  if (r.spec == "sphere") load_sphere(r, out, desc);
  else if (r.spec == "moons" || r.spec == "circles") load_moons_or_circles(r, out, desc);
  else load_files(r, out, desc);
  RKHS_CHECK(out.train.size() > 0, "--data " + r.spec + ": the training part is empty");
  RKHS_CHECK(out.test.size() > 0, "--data " + r.spec + ": the test part is empty (too few samples per class for "
                                   "--test-fraction; give more data or a --test file)");
  if (r.validation_fraction > 0) split_validation(r, out);
  // Points on S^2 are not standardised: the layer's own normalisation is their preprocessing.
  if (r.standardize && r.spec != "sphere") standardize(out, out.train.x.dim() == 2 && r.spec != "fashion-mnist", desc);
  desc << "; train " << out.train.size() << (out.validation ? ", validation " + std::to_string(out.validation->size()) : "")
       << ", test " << out.test.size() << ", " << out.train.num_classes << " classes, " << feature_dim(out.train)
       << " features";
  out.description = desc.str();
  return out;
}

}  // namespace rkhs::jobs
