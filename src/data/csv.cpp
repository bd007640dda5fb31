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

// The reader's state over one file: the header, the rows read so far and the row width.
class CsvReader {
 public:
  CsvReader(const std::string& path, int64_t num_classes) : path_(path), num_classes_(num_classes) {}

  Dataset read() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw Error(path_ + ": cannot open: " + std::strerror(errno));
    std::string line;
    while (std::getline(in, line)) {
      ++lineno_;
      std::string_view sv = line;
      if (lineno_ == 1 && sv.substr(0, 3) == "\xEF\xBB\xBF") sv.remove_prefix(3);  // UTF-8 byte-order mark
      sv = detail::trim(sv);
      if (!sv.empty()) read_line(sv);  // blank lines are skipped
    }
    if (in.bad()) throw file_error(path_, lineno_, "read error");
    return dataset();
  }

 private:
  std::string column_name(size_t j) const {
    std::string s = "column " + std::to_string(j + 1);
    if (j < header_.size() && !header_[j].empty()) s += " (" + detail::quote(header_[j]) + ")";
    return s;
  }

  void read_line(std::string_view sv) {
    split_commas(sv, fields_);
    int64_t label = 0;
    const Parse lp = detail::parse_int(fields_[0], label);
    if (lp != Parse::ok) {
      double dummy = 0;
      const bool numeric = detail::parse_double(fields_[0], dummy) != Parse::not_a_number;
      if (lineno_ == 1 && !numeric) return read_header();
      if (lp == Parse::out_of_range)
        throw file_error(path_, lineno_, column_name(0) + ": label " + detail::quote(fields_[0]) + " is out of range");
      throw file_error(path_, lineno_,
                       column_name(0) + ": label " + detail::quote(fields_[0]) + " is not an integer" +
                           (numeric ? "" : (lineno_ == 1 ? "" : " (a header is only allowed on line 1)")));
    }
    check_width();
    check_label(label);
    labels_.push_back(label);
    for (size_t j = 1; j < fields_.size(); ++j) values_.push_back(parse_value(j));
  }

  void read_header() {
    for (auto f : fields_) header_.emplace_back(f);
    expected_ = fields_.size();
    fixed_at_ = 1;
    if (expected_ < 2)
      throw file_error(path_, lineno_, "header has " + std::to_string(expected_) +
                                           " field; need a label column and at least one feature");
  }

  // Every row has the width of the header or of the first data row.
  void check_width() {
    if (expected_ == 0) {
      expected_ = fields_.size();
      fixed_at_ = lineno_;
      if (expected_ < 2) throw file_error(path_, lineno_, "row has 1 field; need a label and at least one feature");
    } else if (fields_.size() != expected_) {
      throw file_error(path_, lineno_,
                       "expected " + std::to_string(expected_) + " fields (as on line " + std::to_string(fixed_at_) +
                           "), found " + std::to_string(fields_.size()));
    }
  }

  void check_label(int64_t label) const {
    if (label < 0)
      throw file_error(path_, lineno_, column_name(0) + ": label " + std::to_string(label) + " is negative");
    if (num_classes_ > 0 && label >= num_classes_)
      throw file_error(path_, lineno_,
                       column_name(0) + ": label " + std::to_string(label) + " is out of range [0, " +
                           std::to_string(num_classes_) + ")");
  }

  float parse_value(size_t j) const {
    double v = 0;
    const Parse p = detail::parse_double(fields_[j], v);
    if (p == Parse::not_a_number)
      throw file_error(path_, lineno_, column_name(j) + ": " + detail::quote(fields_[j]) + " is not a number");
    if (p == Parse::out_of_range || (std::isfinite(v) && std::fabs(v) > double(FLT_MAX)))
      throw file_error(path_, lineno_, column_name(j) + ": " + detail::quote(fields_[j]) + " does not fit in float32");
    if (std::isnan(v)) throw file_error(path_, lineno_, column_name(j) + ": NaN is not allowed");
    if (std::isinf(v)) throw file_error(path_, lineno_, column_name(j) + ": Inf is not allowed");
    return static_cast<float>(v);
  }

  Dataset dataset() {
    if (labels_.empty()) {
      if (header_.empty()) throw file_error(path_, std::max(1LL, lineno_), "empty file (no data rows)");
      throw file_error(path_, std::max(2LL, lineno_), "no data rows after the header");
    }
    const int64_t n = static_cast<int64_t>(labels_.size());
    const int64_t d = static_cast<int64_t>(expected_) - 1;
    Dataset ds;
    ds.x = torch::from_blob(values_.data(), {n, d}, torch::kFloat).clone();
    ds.y = torch::from_blob(labels_.data(), {n}, torch::kLong).clone();
    const int64_t max_label = *std::max_element(labels_.begin(), labels_.end());
    ds.num_classes = num_classes_ > 0 ? num_classes_ : max_label + 1;
    ds.name = path_;
    return ds;
  }

  const std::string& path_;
  const int64_t num_classes_;
  std::vector<std::string> header_;
  std::vector<float> values_;
  std::vector<int64_t> labels_;
  std::vector<std::string_view> fields_;
  size_t expected_ = 0;     // fields per row, fixed by the header or the first data row
  long long fixed_at_ = 0;  // the line that fixed it
  long long lineno_ = 0;
};

}  // namespace

Dataset load_csv(const std::string& path, int64_t num_classes) {
  if (num_classes < 0) throw Error(path + ": num_classes must be >= 0, got " + std::to_string(num_classes));
  return CsvReader(path, num_classes).read();
}

}  // namespace rkhs::data
