#pragma once
// Explicit ratings (user, item, rating) in the GroupLens MovieLens formats, with ids remapped to 0..n-1.
// Formats, detection and error messages: docs/DATA.md.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rkhs::data {

enum class RatingsFormat {
  ml100k,    // u.data, u1.base, ...: "user<TAB>item<TAB>rating<TAB>timestamp"
  ml1m,      // ratings.dat: "user::item::rating::timestamp"
  ml_latest  // ratings.csv: header "userId,movieId,rating,timestamp", then comma-separated rows
};

const char* format_name(RatingsFormat f);

// One rating with the file's own ids.
struct RatingRecord {
  int64_t user = 0, item = 0;
  float rating = 0;
  long long line = 0;  // 1-based line in the file it came from (for messages)
};

// Reads a ratings file. PATH may be a directory holding ratings.csv, ratings.dat or u.data (looked up in that
// order). The format is detected from the first non-blank line: "::" -> ml-1m; a tab -> ml-100k; a comma ->
// ml-latest (a first line whose first field is not an integer is its header). The timestamp column is optional.
// Ids are non-negative integers, ratings finite numbers. Throws rkhs::Error "PATH:LINE: what" for a malformed line
// (wrong field count, non-numeric, negative id, NaN/Inf rating, a separator other than the file's), the same
// (user, item) pair twice, or an empty file. `format`, when given, receives the detected format.
std::vector<RatingRecord> read_ratings(const std::string& path, RatingsFormat* format = nullptr,
                                       std::string* resolved_path = nullptr);

// Ratings indexed by contiguous user and item numbers.
struct Ratings {
  std::vector<int64_t> user, item;         // indices into user_ids / item_ids
  std::vector<float> rating;
  std::vector<int64_t> user_ids, item_ids;  // index -> the file's id (sorted ascending)
  std::string name;

  int64_t size() const { return static_cast<int64_t>(rating.size()); }
  int64_t num_users() const { return static_cast<int64_t>(user_ids.size()); }
  int64_t num_items() const { return static_cast<int64_t>(item_ids.size()); }
  float min_rating() const;  // over these ratings (throws on an empty set)
  float max_rating() const;
};

// Train and test ratings over one shared index of users and items (the union of both sets, sorted by id): a test
// rating of a user or item without training ratings is kept (a cold-start case, counted by the caller).
struct RatingsSplit {
  Ratings train, test;
  RatingsFormat format = RatingsFormat::ml_latest;
};

// A uniformly random fraction (rounded, at least 1 and at most n - 1 ratings) of r goes to the second set, the rest
// to the first; both keep r's id tables and file order. Deterministic by seed (std::mt19937_64).
std::pair<Ratings, Ratings> split_ratings(const Ratings& r, double fraction, uint64_t seed);

// test_path empty: a uniformly random test_fraction of the ratings (rounded, at least 1 and at most n - 1) from
// std::mt19937_64(seed). Otherwise train_path and test_path as given (e.g. ml-100k's u1.base / u1.test; a
// (user, item) pair in both files is an error) and test_fraction/seed are not used.
RatingsSplit load_ratings_split(const std::string& train_path, const std::string& test_path, double test_fraction,
                                uint64_t seed);

}  // namespace rkhs::data
