// MovieLens ratings readers (ml-100k, ml-1m, ml-latest), id remapping and random train/test splits.
#include "rkhs/data/ratings.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <tuple>

#include "random.h"
#include "rkhs/error.h"
#include "text_parse.h"

namespace rkhs::data {

using detail::Parse;

namespace {

std::string_view separator_of(RatingsFormat f) {
  switch (f) {
    case RatingsFormat::ml100k: return "\t";
    case RatingsFormat::ml1m: return "::";
    case RatingsFormat::ml_latest: return ",";
  }
  return ",";
}

void split(std::string_view line, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (;;) {
    const size_t p = line.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(detail::trim(line.substr(start)));
      return;
    }
    out.push_back(detail::trim(line.substr(start, p - start)));
    start = p + sep.size();
  }
}

std::string resolve(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return path;
  for (const char* name : {"ratings.csv", "ratings.dat", "u.data"}) {
    const auto candidate = std::filesystem::path(path) / name;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate.string();
  }
  throw Error(path + ": a directory without ratings.csv, ratings.dat or u.data");
}

int64_t parse_id(const std::string& path, long long line, std::string_view field, const char* what) {
  int64_t v = 0;
  const Parse p = detail::parse_int(field, v);
  if (p != Parse::ok)
    throw file_error(path, line, std::string(what) + " id " + detail::quote(field) +
                                     (p == Parse::out_of_range ? " is out of range" : " is not an integer"));
  if (v < 0) throw file_error(path, line, std::string(what) + " id " + std::to_string(v) + " is negative");
  return v;
}

}  // namespace

const char* format_name(RatingsFormat f) {
  switch (f) {
    case RatingsFormat::ml100k: return "ml-100k";
    case RatingsFormat::ml1m: return "ml-1m";
    case RatingsFormat::ml_latest: return "ml-latest";
  }
  return "?";
}

std::vector<RatingRecord> read_ratings(const std::string& path_in, RatingsFormat* format_out,
                                       std::string* resolved_path) {
  const std::string path = resolve(path_in);
  if (resolved_path) *resolved_path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));

  std::vector<RatingRecord> out;
  std::vector<std::string_view> fields;
  std::string buf;
  long long lineno = 0;
  bool detected = false;
  RatingsFormat format = RatingsFormat::ml_latest;
  while (std::getline(in, buf)) {
    ++lineno;
    std::string_view line = detail::trim(buf);
    if (line.empty()) continue;
    if (!detected) {
      if (line.find("::") != std::string_view::npos) format = RatingsFormat::ml1m;
      else if (line.find('\t') != std::string_view::npos) format = RatingsFormat::ml100k;
      else if (line.find(',') != std::string_view::npos) format = RatingsFormat::ml_latest;
      else
        throw file_error(path, lineno,
                         "not a ratings line (no '::', tab or comma separator): " + detail::quote(line));
      detected = true;
      split(line, separator_of(format), fields);
      int64_t ignored = 0;
      if (format == RatingsFormat::ml_latest && detail::parse_int(fields[0], ignored) != Parse::ok) continue;  // header
    } else {
      split(line, separator_of(format), fields);
    }
    if (fields.size() != 3 && fields.size() != 4) {
      const std::string sep = format == RatingsFormat::ml100k ? "<TAB>" : std::string(separator_of(format));
      throw file_error(path, lineno,
                       std::to_string(fields.size()) + " field(s), expected user" + sep + "item" + sep + "rating[" +
                           sep + "timestamp] (" + format_name(format) + " format, detected on the first line)");
    }
    RatingRecord r;
    r.line = lineno;
    r.user = parse_id(path, lineno, fields[0], "user");
    r.item = parse_id(path, lineno, fields[1], "item");
    double v = 0;
    const Parse p = detail::parse_double(fields[2], v);
    if (p == Parse::not_a_number) throw file_error(path, lineno, "rating " + detail::quote(fields[2]) + " is not a number");
    if (p == Parse::out_of_range || (std::isfinite(v) && std::fabs(v) > double(FLT_MAX)))
      throw file_error(path, lineno, "rating " + detail::quote(fields[2]) + " does not fit in float32");
    if (!std::isfinite(v)) throw file_error(path, lineno, "rating " + detail::quote(fields[2]) + " is not finite");
    r.rating = static_cast<float>(v);
    if (fields.size() == 4) {
      int64_t ts = 0;
      if (detail::parse_int(fields[3], ts) != Parse::ok)
        throw file_error(path, lineno, "timestamp " + detail::quote(fields[3]) + " is not an integer");
    }
    out.push_back(r);
  }
  if (in.bad()) throw file_error(path, lineno, "read error");
  if (out.empty()) throw file_error(path, std::max(1LL, lineno), "no ratings in the file");

  // The same (user, item) twice would silently overwrite a rating in the dense matrix.
  std::vector<size_t> order(out.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) { return std::make_pair(out[i].user, out[i].item); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b) || (key(a) == key(b) && a < b); });
  for (size_t k = 1; k < order.size(); ++k)
    if (key(order[k]) == key(order[k - 1]))
      throw file_error(path, out[order[k]].line,
                       "user " + std::to_string(out[order[k]].user) + " rated item " + std::to_string(out[order[k]].item) +
                           " already on line " + std::to_string(out[order[k - 1]].line));
  if (format_out) *format_out = format;
  return out;
}

float Ratings::min_rating() const {
  RKHS_CHECK(!rating.empty(), "min_rating of an empty ratings set");
  return *std::min_element(rating.begin(), rating.end());
}

float Ratings::max_rating() const {
  RKHS_CHECK(!rating.empty(), "max_rating of an empty ratings set");
  return *std::max_element(rating.begin(), rating.end());
}

namespace {

std::vector<int64_t> sorted_unique(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

int64_t index_of(const std::vector<int64_t>& ids, int64_t id) {
  return std::lower_bound(ids.begin(), ids.end(), id) - ids.begin();
}

Ratings indexed(const std::vector<RatingRecord>& records, const std::vector<size_t>& which,
                const std::vector<int64_t>& user_ids, const std::vector<int64_t>& item_ids, const std::string& name) {
  Ratings r;
  r.user_ids = user_ids;
  r.item_ids = item_ids;
  r.name = name;
  r.user.reserve(which.size());
  r.item.reserve(which.size());
  r.rating.reserve(which.size());
  for (size_t i : which) {
    r.user.push_back(index_of(user_ids, records[i].user));
    r.item.push_back(index_of(item_ids, records[i].item));
    r.rating.push_back(records[i].rating);
  }
  return r;
}

}  // namespace

std::pair<Ratings, Ratings> split_ratings(const Ratings& r, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) throw Error("test fraction must be in (0, 1), got " + std::to_string(fraction));
  const int64_t n = r.size();
  if (n < 2) throw Error(r.name + ": " + std::to_string(n) + " rating(s), a random split needs at least 2");
  const int64_t k = std::clamp<int64_t>(std::llround(fraction * double(n)), 1, n - 1);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> perm = detail::permutation(n, rng);
  std::sort(perm.begin(), perm.begin() + k);  // file order within each set
  std::sort(perm.begin() + k, perm.end());
  auto take = [&](auto begin, auto end) {
    Ratings out;
    out.user_ids = r.user_ids;
    out.item_ids = r.item_ids;
    out.name = r.name;
    for (auto it = begin; it != end; ++it) {
      out.user.push_back(r.user[*it]);
      out.item.push_back(r.item[*it]);
      out.rating.push_back(r.rating[*it]);
    }
    return out;
  };
  return {take(perm.begin() + k, perm.end()), take(perm.begin(), perm.begin() + k)};
}

RatingsSplit load_ratings_split(const std::string& train_path, const std::string& test_path, double test_fraction,
                                uint64_t seed) {
  RatingsSplit split;
  std::string train_file, test_file;
  std::vector<RatingRecord> all = read_ratings(train_path, &split.format, &train_file);
  const size_t n_train = all.size();
  if (!test_path.empty()) {
    RatingsFormat test_format;
    std::vector<RatingRecord> test = read_ratings(test_path, &test_format, &test_file);
    std::vector<std::pair<int64_t, int64_t>> seen;
    seen.reserve(n_train);
    for (size_t i = 0; i < n_train; ++i) seen.emplace_back(all[i].user, all[i].item);
    std::sort(seen.begin(), seen.end());
    for (const auto& r : test) {
      if (std::binary_search(seen.begin(), seen.end(), std::make_pair(r.user, r.item)))
        throw file_error(test_file, r.line,
                         "user " + std::to_string(r.user) + " rated item " + std::to_string(r.item) +
                             " in the training file " + train_file + " too");
      all.push_back(r);
    }
  }
  std::vector<int64_t> users, items;
  users.reserve(all.size());
  items.reserve(all.size());
  for (const auto& r : all) {
    users.push_back(r.user);
    items.push_back(r.item);
  }
  const auto user_ids = sorted_unique(std::move(users));
  const auto item_ids = sorted_unique(std::move(items));
  std::vector<size_t> train_rows(n_train), test_rows;
  for (size_t i = 0; i < n_train; ++i) train_rows[i] = i;
  for (size_t i = n_train; i < all.size(); ++i) test_rows.push_back(i);
  split.train = indexed(all, train_rows, user_ids, item_ids, train_file);
  if (test_path.empty()) {
    std::tie(split.train, split.test) = split_ratings(split.train, test_fraction, seed);
  } else {
    split.test = indexed(all, test_rows, user_ids, item_ids, test_file);
  }
  return split;
}

}  // namespace rkhs::data
