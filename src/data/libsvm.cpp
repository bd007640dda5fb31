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
}  // namespace

Dataset load_libsvm(const std::string& path, int64_t num_features, std::vector<int64_t>* original_labels) {
  if (num_features < 0) throw Error(path + ": num_features must be >= 0, got " + std::to_string(num_features));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));

  struct Entry {
    int64_t row, col;  // col 0-based
    float v;
  };
  std::vector<Entry> entries;
  std::vector<int64_t> labels;
  std::vector<long long> label_lines;
  int64_t max_index = 0;
  long long lineno = 0;
  std::string line;

  while (std::getline(in, line)) {
    ++lineno;
    std::string_view sv = line;
    if (auto hash = sv.find('#'); hash != std::string_view::npos) sv = sv.substr(0, hash);
    sv = detail::trim(sv);
    if (sv.empty()) continue;  // blank or comment-only line

    // Tokens separated by runs of spaces/tabs.
    size_t pos = 0;
    auto next_token = [&]() -> std::string_view {
      while (pos < sv.size() && detail::is_space(sv[pos])) ++pos;
      size_t start = pos;
      while (pos < sv.size() && !detail::is_space(sv[pos])) ++pos;
      return sv.substr(start, pos - start);
    };

    std::string_view tok = next_token();
    int64_t label = 0;
    Parse lp = detail::parse_int(tok, label);
    if (lp != Parse::ok) {
      if (tok.find(':') != std::string_view::npos)
        throw file_error(path, lineno, "missing label: line starts with the pair " + detail::quote(tok));
      throw file_error(path, lineno,
                       "label " + detail::quote(tok) + (lp == Parse::out_of_range ? " is out of range" : " is not an integer"));
    }
    const int64_t row = static_cast<int64_t>(labels.size());
    labels.push_back(label);
    label_lines.push_back(lineno);

    int64_t prev = 0;
    int64_t pair_no = 0;
    for (tok = next_token(); !tok.empty(); tok = next_token()) {
      ++pair_no;
      const std::string where = "pair " + std::to_string(pair_no) + " " + detail::quote(tok) + ": ";
      const size_t colon = tok.find(':');
      if (colon == std::string_view::npos || colon == 0 || colon + 1 == tok.size())
        throw file_error(path, lineno, where + "expected index:value");
      const std::string_view is = tok.substr(0, colon), vs = tok.substr(colon + 1);
      if (is == "qid") throw file_error(path, lineno, where + "qid (ranking) fields are not supported");
      int64_t idx = 0;
      Parse ip = detail::parse_int(is, idx);
      if (ip != Parse::ok) throw file_error(path, lineno, where + "index " + detail::quote(is) + " is not an integer");
      if (idx <= 0) throw file_error(path, lineno, where + "index " + std::to_string(idx) + " must be >= 1 (indices are 1-based)");
      if (idx <= prev)
        throw file_error(path, lineno,
                         where + "index " + std::to_string(idx) + " after " + std::to_string(prev) +
                             ": indices must be strictly increasing");
      if (num_features > 0 && idx > num_features)
        throw file_error(path, lineno,
                         where + "index " + std::to_string(idx) + " is above num_features = " + std::to_string(num_features));
      double v = 0;
      Parse vp = detail::parse_double(vs, v);
      if (vp == Parse::not_a_number) throw file_error(path, lineno, where + "value " + detail::quote(vs) + " is not a number");
      if (vp == Parse::out_of_range || (std::isfinite(v) && std::fabs(v) > double(FLT_MAX)))
        throw file_error(path, lineno, where + "value " + detail::quote(vs) + " does not fit in float32");
      if (std::isnan(v)) throw file_error(path, lineno, where + "NaN is not allowed");
      if (std::isinf(v)) throw file_error(path, lineno, where + "Inf is not allowed");
      prev = idx;
      max_index = std::max(max_index, idx);
      if (v != 0.0) entries.push_back({row, idx - 1, static_cast<float>(v)});
    }
  }
  if (in.bad()) throw file_error(path, lineno, "read error");
  if (labels.empty()) throw file_error(path, std::max(1LL, lineno), "empty file (no samples)");

  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t d = num_features > 0 ? num_features : max_index;
  if (d == 0) throw file_error(path, lineno, "no features: every sample is empty and num_features is not given");
  const int64_t max_values = max_dense_elements();
  if (d > max_values / n)
    throw Error(path + ": a dense " + std::to_string(n) + " x " + std::to_string(d) +
                " matrix is too large (limit " + std::to_string(max_values) + " values, RKHS_MAX_DENSE_VALUES)");

  // Labels: a given mapping (class index -> original label) is applied as is; otherwise labels are kept when
  // they are exactly 0..C-1, else the sorted distinct values are mapped to 0..C-1.
  std::map<int64_t, int64_t> to_class;
  if (original_labels && !original_labels->empty()) {
    for (size_t i = 0; i < original_labels->size(); ++i)
      if (!to_class.emplace((*original_labels)[i], static_cast<int64_t>(i)).second)
        throw Error(path + ": the given label mapping lists label " + std::to_string((*original_labels)[i]) + " twice");
    for (size_t i = 0; i < labels.size(); ++i) {
      auto it = to_class.find(labels[i]);
      if (it == to_class.end())
        throw file_error(path, label_lines[i],
                         "label " + std::to_string(labels[i]) + " is not one of the " +
                             std::to_string(to_class.size()) + " labels of the given mapping");
      labels[i] = it->second;
    }
  } else {
    for (int64_t l : labels) to_class.emplace(l, 0);
    const int64_t C = static_cast<int64_t>(to_class.size());
    const bool identity = to_class.begin()->first == 0 && to_class.rbegin()->first == C - 1;
    int64_t k = 0;
    for (auto& [value, cls] : to_class) cls = k++;
    if (!identity)
      for (int64_t& l : labels) l = to_class[l];
    if (original_labels)
      for (auto& [value, cls] : to_class) original_labels->push_back(value);
  }
  const int64_t C = static_cast<int64_t>(to_class.size());

  Dataset ds;
  ds.x = torch::zeros({n, d}, torch::kFloat);
  float* px = ds.x.data_ptr<float>();
  for (const Entry& e : entries) px[e.row * d + e.col] = e.v;
  ds.y = torch::from_blob(labels.data(), {n}, torch::kLong).clone();
  ds.num_classes = C;
  ds.name = path;
  return ds;
}

}  // namespace rkhs::data
