// Sparse LIBSVM / SVMlight reader into a dense float32 matrix.
#include "rkhs/data/libsvm.h"

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "rkhs/error.h"
#include "text_parse.h"

namespace rkhs::data {

using detail::Parse;

namespace {
// Largest dense matrix this reader builds (elements): 2^30 float32 values = 4 GiB, or $RKHS_MAX_DENSE_VALUES.
int64_t max_dense_elements() {
  const char* env = std::getenv("RKHS_MAX_DENSE_VALUES");
  if (!env || !*env) return int64_t(1) << 30;
  int64_t v = 0;
  if (detail::parse_int(env, v) != Parse::ok || v <= 0)
    throw Error(std::string("RKHS_MAX_DENSE_VALUES must be a positive integer, got '") + env + "'");
  return v;
}
struct Entry {
  int64_t row, col;  // col 0-based
  float v;
};

// What the reader collects from the file.
struct Parsed {
  std::vector<Entry> entries;
  std::vector<int64_t> labels;
  std::vector<long long> label_lines;
  int64_t max_index = 0;
  long long lineno = 0;
};

// Tokens separated by runs of spaces/tabs.
class Tokens {
 public:
  explicit Tokens(std::string_view sv) : sv_(sv) {}
  std::string_view next() {
    while (pos_ < sv_.size() && detail::is_space(sv_[pos_])) ++pos_;
    const size_t start = pos_;
    while (pos_ < sv_.size() && !detail::is_space(sv_[pos_])) ++pos_;
    return sv_.substr(start, pos_ - start);
  }

 private:
  std::string_view sv_;
  size_t pos_ = 0;
};

int64_t parse_label(const std::string& path, long long lineno, std::string_view tok) {
  int64_t label = 0;
  const Parse lp = detail::parse_int(tok, label);
  if (lp == Parse::ok) return label;
  if (tok.find(':') != std::string_view::npos)
    throw file_error(path, lineno, "missing label: line starts with the pair " + detail::quote(tok));
  throw file_error(path, lineno,
                   "label " + detail::quote(tok) + (lp == Parse::out_of_range ? " is out of range" : " is not an integer"));
}

// One "index:value" pair (1-based index, strictly above `prev`): the index and the value.
std::pair<int64_t, double> parse_pair(const std::string& path, long long lineno, int64_t pair_no, std::string_view tok,
                                      int64_t prev, int64_t num_features) {
  const std::string where = "pair " + std::to_string(pair_no) + " " + detail::quote(tok) + ": ";
  const size_t colon = tok.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == tok.size())
    throw file_error(path, lineno, where + "expected index:value");
  const std::string_view is = tok.substr(0, colon), vs = tok.substr(colon + 1);
  if (is == "qid") throw file_error(path, lineno, where + "qid (ranking) fields are not supported");
  int64_t idx = 0;
  if (detail::parse_int(is, idx) != Parse::ok)
    throw file_error(path, lineno, where + "index " + detail::quote(is) + " is not an integer");
  if (idx <= 0) throw file_error(path, lineno, where + "index " + std::to_string(idx) + " must be >= 1 (indices are 1-based)");
  if (idx <= prev)
    throw file_error(path, lineno,
                     where + "index " + std::to_string(idx) + " after " + std::to_string(prev) +
                         ": indices must be strictly increasing");
  if (num_features > 0 && idx > num_features)
    throw file_error(path, lineno,
                     where + "index " + std::to_string(idx) + " is above num_features = " + std::to_string(num_features));
  double v = 0;
  const Parse vp = detail::parse_double(vs, v);
  if (vp == Parse::not_a_number) throw file_error(path, lineno, where + "value " + detail::quote(vs) + " is not a number");
  if (vp == Parse::out_of_range || (std::isfinite(v) && std::fabs(v) > double(FLT_MAX)))
    throw file_error(path, lineno, where + "value " + detail::quote(vs) + " does not fit in float32");
  if (std::isnan(v)) throw file_error(path, lineno, where + "NaN is not allowed");
  if (std::isinf(v)) throw file_error(path, lineno, where + "Inf is not allowed");
  return {idx, v};
}

// One sample line (comments and surrounding blanks already removed): its label and its nonzero entries.
void parse_sample(const std::string& path, std::string_view sv, int64_t num_features, Parsed& p) {
  Tokens tokens(sv);
  const int64_t row = static_cast<int64_t>(p.labels.size());
  p.labels.push_back(parse_label(path, p.lineno, tokens.next()));
  p.label_lines.push_back(p.lineno);
  int64_t prev = 0, pair_no = 0;
  for (auto tok = tokens.next(); !tok.empty(); tok = tokens.next()) {
    const auto [idx, v] = parse_pair(path, p.lineno, ++pair_no, tok, prev, num_features);
    prev = idx;
    p.max_index = std::max(p.max_index, idx);
    if (v != 0.0) p.entries.push_back({row, idx - 1, static_cast<float>(v)});
  }
}

Parsed read_samples(const std::string& path, int64_t num_features) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  Parsed p;
  std::string line;
  while (std::getline(in, line)) {
    ++p.lineno;
    std::string_view sv = line;
    if (auto hash = sv.find('#'); hash != std::string_view::npos) sv = sv.substr(0, hash);
    sv = detail::trim(sv);
    if (!sv.empty()) parse_sample(path, sv, num_features, p);  // else a blank or comment-only line
  }
  if (in.bad()) throw file_error(path, p.lineno, "read error");
  if (p.labels.empty()) throw file_error(path, std::max(1LL, p.lineno), "empty file (no samples)");
  return p;
}

// Labels: a given mapping (class index -> original label) is applied as is; otherwise labels are kept when they are
// exactly 0..C-1, else the sorted distinct values are mapped to 0..C-1 (and the mapping is returned through
// original_labels). Returns C.
int64_t map_labels(const std::string& path, Parsed& p, std::vector<int64_t>* original_labels) {
  auto& labels = p.labels;
  std::map<int64_t, int64_t> to_class;
  if (original_labels && !original_labels->empty()) {
    for (size_t i = 0; i < original_labels->size(); ++i)
      if (!to_class.emplace((*original_labels)[i], static_cast<int64_t>(i)).second)
        throw Error(path + ": the given label mapping lists label " + std::to_string((*original_labels)[i]) + " twice");
    for (size_t i = 0; i < labels.size(); ++i) {
      auto it = to_class.find(labels[i]);
      if (it == to_class.end())
        throw file_error(path, p.label_lines[i],
                         "label " + std::to_string(labels[i]) + " is not one of the " +
                             std::to_string(to_class.size()) + " labels of the given mapping");
      labels[i] = it->second;
    }
    return static_cast<int64_t>(to_class.size());
  }
  for (int64_t l : labels) to_class.emplace(l, 0);
  const int64_t C = static_cast<int64_t>(to_class.size());
  const bool identity = to_class.begin()->first == 0 && to_class.rbegin()->first == C - 1;
  int64_t k = 0;
  for (auto& [value, cls] : to_class) cls = k++;
  if (!identity)
    for (int64_t& l : labels) l = to_class[l];
  if (original_labels)
    for (auto& [value, cls] : to_class) original_labels->push_back(value);
  return C;
}
}  // namespace

Dataset load_libsvm(const std::string& path, int64_t num_features, std::vector<int64_t>* original_labels) {
  if (num_features < 0) throw Error(path + ": num_features must be >= 0, got " + std::to_string(num_features));
  Parsed p = read_samples(path, num_features);
  const int64_t n = static_cast<int64_t>(p.labels.size());
  const int64_t d = num_features > 0 ? num_features : p.max_index;
  if (d == 0) throw file_error(path, p.lineno, "no features: every sample is empty and num_features is not given");
  const int64_t max_values = max_dense_elements();
  if (d > max_values / n)
    throw Error(path + ": a dense " + std::to_string(n) + " x " + std::to_string(d) +
                " matrix is too large (limit " + std::to_string(max_values) + " values, RKHS_MAX_DENSE_VALUES)");
  const int64_t C = map_labels(path, p, original_labels);
  Dataset ds;
  ds.x = torch::zeros({n, d}, torch::kFloat);
  float* px = ds.x.data_ptr<float>();
  for (const Entry& e : p.entries) px[e.row * d + e.col] = e.v;
  ds.y = torch::from_blob(p.labels.data(), {n}, torch::kLong).clone();
  ds.num_classes = C;
  ds.name = path;
  return ds;
}

}  // namespace rkhs::data
