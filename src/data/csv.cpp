// Dense CSV reader: "label,f1,...,fd" per line, optional header on line 1.
#include "rkhs/data/csv.h"

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cstring>
#include <fstream>

#include "rkhs/error.h"
#include "text_parse.h"

namespace rkhs::data {

using detail::Parse;

namespace {

void split_commas(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (;;) {
    size_t p = line.find(',', start);
    if (p == std::string_view::npos) {
      out.push_back(detail::trim(line.substr(start)));
      return;
    }
    out.push_back(detail::trim(line.substr(start, p - start)));
    start = p + 1;
  }
}

}  // namespace

Dataset load_csv(const std::string& path, int64_t num_classes) {
  if (num_classes < 0) throw Error(path + ": num_classes must be >= 0, got " + std::to_string(num_classes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));

  std::vector<std::string> header;
  std::vector<float> values;
  std::vector<int64_t> labels;
  std::vector<std::string_view> fields;
  size_t expected = 0;     // fields per row, fixed by the header or the first data row
  long long fixed_at = 0;  // the line that fixed it
  long long lineno = 0;
  std::string line;

  auto column_name = [&](size_t j) {
    std::string s = "column " + std::to_string(j + 1);
    if (j < header.size() && !header[j].empty()) s += " (" + detail::quote(header[j]) + ")";
    return s;
  };

  while (std::getline(in, line)) {
    ++lineno;
    std::string_view sv = line;
    if (lineno == 1 && sv.substr(0, 3) == "\xEF\xBB\xBF") sv.remove_prefix(3);  // UTF-8 byte-order mark
    sv = detail::trim(sv);
    if (sv.empty()) continue;  // blank lines are skipped
    split_commas(sv, fields);

    int64_t label = 0;
    double dummy = 0;
    Parse lp = detail::parse_int(fields[0], label);
    if (lp != Parse::ok) {
      const bool numeric = detail::parse_double(fields[0], dummy) != Parse::not_a_number;
      if (lineno == 1 && !numeric) {  // a header
        for (auto f : fields) header.emplace_back(f);
        expected = fields.size();
        fixed_at = 1;
        if (expected < 2)
          throw file_error(path, lineno, "header has " + std::to_string(expected) +
                                             " field; need a label column and at least one feature");
        continue;
      }
      if (lp == Parse::out_of_range)
        throw file_error(path, lineno, column_name(0) + ": label " + detail::quote(fields[0]) + " is out of range");
      throw file_error(path, lineno,
                       column_name(0) + ": label " + detail::quote(fields[0]) +
                           " is not an integer" +
                           (numeric ? "" : (lineno == 1 ? "" : " (a header is only allowed on line 1)")));
    }
    if (expected == 0) {
      expected = fields.size();
      fixed_at = lineno;
      if (expected < 2)
        throw file_error(path, lineno, "row has 1 field; need a label and at least one feature");
    } else if (fields.size() != expected) {
      throw file_error(path, lineno,
                       "expected " + std::to_string(expected) + " fields (as on line " + std::to_string(fixed_at) +
                           "), found " + std::to_string(fields.size()));
    }
    if (label < 0)
      throw file_error(path, lineno, column_name(0) + ": label " + std::to_string(label) + " is negative");
    if (num_classes > 0 && label >= num_classes)
      throw file_error(path, lineno,
                       column_name(0) + ": label " + std::to_string(label) + " is out of range [0, " +
                           std::to_string(num_classes) + ")");
    labels.push_back(label);
    for (size_t j = 1; j < fields.size(); ++j) {
      double v = 0;
      Parse p = detail::parse_double(fields[j], v);
      if (p == Parse::not_a_number)
        throw file_error(path, lineno, column_name(j) + ": " + detail::quote(fields[j]) + " is not a number");
      if (p == Parse::out_of_range || (std::isfinite(v) && std::fabs(v) > double(FLT_MAX)))
        throw file_error(path, lineno, column_name(j) + ": " + detail::quote(fields[j]) + " does not fit in float32");
      if (std::isnan(v)) throw file_error(path, lineno, column_name(j) + ": NaN is not allowed");
      if (std::isinf(v)) throw file_error(path, lineno, column_name(j) + ": Inf is not allowed");
      values.push_back(static_cast<float>(v));
    }
  }
  if (in.bad()) throw file_error(path, lineno, "read error");
  if (labels.empty()) {
    if (header.empty()) throw file_error(path, std::max(1LL, lineno), "empty file (no data rows)");
    throw file_error(path, std::max(2LL, lineno), "no data rows after the header");
  }

  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t d = static_cast<int64_t>(expected) - 1;
  Dataset ds;
  ds.x = torch::from_blob(values.data(), {n, d}, torch::kFloat).clone();
  ds.y = torch::from_blob(labels.data(), {n}, torch::kLong).clone();
  const int64_t max_label = *std::max_element(labels.begin(), labels.end());
  ds.num_classes = num_classes > 0 ? num_classes : max_label + 1;
  ds.name = path;
  return ds;
}

}  // namespace rkhs::data
