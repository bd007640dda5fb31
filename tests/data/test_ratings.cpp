// MovieLens readers: the three formats on fixture files, id remapping, splits, malformed lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "error_of.h"
#include "rkhs/data/ratings.h"
#include "rkhs/error.h"

using rkhs::data::load_ratings_split;
using rkhs::data::RatingsFormat;
using rkhs::data::read_ratings;

using loader_test::fx;

TEST(Ratings, DetectsTheThreeFormats) {
  RatingsFormat f;
  auto a = read_ratings(fx("ml100k_u1.base"), &f);
  EXPECT_EQ(f, RatingsFormat::ml100k);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[2].user, 10);
  EXPECT_EQ(a[2].item, 30);
  EXPECT_EQ(a[2].rating, 5.0f);

  auto b = read_ratings(fx("ml1m_ratings.dat"), &f);
  EXPECT_EQ(f, RatingsFormat::ml1m);
  ASSERT_EQ(b.size(), 3u);  // the blank line is skipped
  EXPECT_EQ(b[2].line, 4);
  EXPECT_EQ(b[1].item, 661);

  auto c = read_ratings(fx("mllatest_ratings.csv"), &f);  // header and CRLF line ends
  EXPECT_EQ(f, RatingsFormat::ml_latest);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].rating, 2.5f);
  EXPECT_EQ(c[2].rating, 0.5f);
  EXPECT_EQ(c[2].user, 7);
}

TEST(Ratings, RandomSplitRemapsIdsAndIsDeterministic) {
  auto s = load_ratings_split(fx("ml1m_ratings.dat"), "", 0.34, 7);
  EXPECT_EQ(s.format, RatingsFormat::ml1m);
  EXPECT_EQ(s.train.size(), 2);
  EXPECT_EQ(s.test.size(), 1);  // round(0.34 * 3) = 1
  EXPECT_EQ(s.train.user_ids, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s.train.item_ids, (std::vector<int64_t>{661, 1193}));
  EXPECT_EQ(s.test.item_ids, s.train.item_ids);
  // Every original rating is in exactly one of the sets, with its ids mapped back.
  std::multiset<std::tuple<int64_t, int64_t, float>> seen;
  for (const auto* r : {&s.train, &s.test})
    for (int64_t i = 0; i < r->size(); ++i) seen.emplace(r->user_ids[r->user[i]], r->item_ids[r->item[i]], r->rating[i]);
  std::multiset<std::tuple<int64_t, int64_t, float>> want{{1, 1193, 5.f}, {1, 661, 3.f}, {2, 1193, 4.f}};
  EXPECT_EQ(seen, want);
  auto again = load_ratings_split(fx("ml1m_ratings.dat"), "", 0.34, 7);
  EXPECT_EQ(again.test.user, s.test.user);
  EXPECT_EQ(again.test.item, s.test.item);
  // Different seeds eventually pick a different test rating.
  bool differs = false;
  for (uint64_t seed = 0; seed < 20 && !differs; ++seed) {
    auto o = load_ratings_split(fx("ml1m_ratings.dat"), "", 0.34, seed);
    differs = o.test.item != s.test.item || o.test.user != s.test.user;
  }
  EXPECT_TRUE(differs);
}

TEST(Ratings, GivenTestFileSharesTheIndex) {
  auto s = load_ratings_split(fx("ml100k_u1.base"), fx("ml100k_u1.test"), 0.1, 0);
  EXPECT_EQ(s.train.size(), 3);
  EXPECT_EQ(s.test.size(), 2);
  EXPECT_EQ(s.train.user_ids, (std::vector<int64_t>{2, 5, 10}));  // user 5 only rates in the test file
  EXPECT_EQ(s.train.item_ids, (std::vector<int64_t>{7, 30}));
  EXPECT_EQ(s.test.user, (std::vector<int64_t>{0, 1}));  // users 2 and 5
  EXPECT_EQ(s.test.item, (std::vector<int64_t>{1, 0}));  // items 30 and 7
  EXPECT_EQ(s.train.min_rating(), 3.0f);
  EXPECT_EQ(s.train.max_rating(), 5.0f);
  EXPECT_ERROR_WITH(load_ratings_split(fx("ml100k_u1.base"), fx("ml100k_u1.base"), 0.1, 0), "ml100k_u1.base:1:",
                    "in the training file");
}

TEST(Ratings, MalformedFilesNameFileAndLine) {
  EXPECT_ERROR_WITH(read_ratings(fx("ml_bad_fields.dat")), "ml_bad_fields.dat:2:", "2 field(s)", "ml-1m");
  EXPECT_ERROR_WITH(read_ratings(fx("ml_bad_rating.csv")), "ml_bad_rating.csv:3:", "rating 'nan' is not finite");
  EXPECT_ERROR_WITH(read_ratings(fx("ml_bad_id.data")), "ml_bad_id.data:2:", "user id -1 is negative");
  EXPECT_ERROR_WITH(read_ratings(fx("ml_mixed_separator.dat")), "ml_mixed_separator.dat:2:", "1 field(s)");
  EXPECT_ERROR_WITH(read_ratings(fx("ml_duplicate.csv")), "ml_duplicate.csv:3:", "user 1 rated item 2 already on line 1");
  EXPECT_ERROR_WITH(read_ratings(fx("ml_header_only.csv")), "ml_header_only.csv:1:", "no ratings");
  EXPECT_ERROR_WITH(read_ratings(fx("ml_no_separator.txt")), "ml_no_separator.txt:1:", "not a ratings line");
  EXPECT_ERROR_WITH(read_ratings(fx("no_such_file.csv")), "no_such_file.csv", "cannot open");
  EXPECT_ERROR_WITH(read_ratings(RKHS_FIXTURES), "without ratings.csv, ratings.dat or u.data");
  EXPECT_ERROR_WITH(load_ratings_split(fx("ml1m_ratings.dat"), "", 1.0, 0), "test fraction must be in (0, 1)");
}
