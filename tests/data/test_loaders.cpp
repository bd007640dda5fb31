// IDX, CSV and LIBSVM loaders on the fixtures written by tests/fixtures/make_data_fixtures.py.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <sys/stat.h>

#include "rkhs/data/csv.h"
#include "rkhs/data/idx.h"
#include "rkhs/data/libsvm.h"
#include "error_of.h"
#include "rkhs/error.h"

using namespace rkhs::data;
using loader_test::fx;

namespace {

void expect_equal(const at::Tensor& a, const at::Tensor& b) {
  ASSERT_EQ(a.scalar_type(), b.scalar_type());
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_TRUE(torch::equal(a, b)) << a << "\nvs\n" << b;
}

}  // namespace

// ---- IDX ------------------------------------------------------------------------------------------------------

TEST(Idx, UbyteRawAndGzipGiveTheSameTensor) {
  const at::Tensor expected =
      torch::tensor({0, 255, 128, 1, 10, 20, 30, 40, 255, 0, 0, 255}, torch::kInt).to(torch::kByte).reshape({3, 2, 2});
  expect_equal(load_idx(fx("idx_images.idx3")), expected);
  expect_equal(load_idx(fx("idx_images.idx3.gz")), expected);
  expect_equal(load_idx(fx("idx_labels.idx1.gz")), torch::tensor({0, 2, 1}, torch::kInt).to(torch::kByte));
}

TEST(Idx, AllElementTypesBigEndian) {
  expect_equal(load_idx(fx("idx_sbyte.idx")), torch::tensor({-128, 0, 127}, torch::kInt).to(torch::kChar));
  expect_equal(load_idx(fx("idx_short.idx")), torch::tensor({-2, 300, 32767}, torch::kInt).to(torch::kShort));
  expect_equal(load_idx(fx("idx_int.idx")),
               torch::tensor({-100000, 1, 2147483647, int(-2147483647 - 1)}, torch::kInt).reshape({2, 2}));
  expect_equal(load_idx(fx("idx_float.idx")),
               torch::tensor({1.5f, -2.25f, 0.0f, 3.0e10f, -1e-3f, 7.0f}, torch::kFloat).reshape({2, 3}));
  expect_equal(load_idx(fx("idx_double.idx")), torch::tensor({3.141592653589793, -1e300}, torch::kDouble));
}

TEST(Idx, DatasetFromImagesAndLabels) {
  for (const auto& [img, lab] : {std::pair<std::string, std::string>{"idx_images.idx3", "idx_labels.idx1"},
                                 {"idx_images.idx3.gz", "idx_labels.idx1.gz"}}) {
    Dataset d = load_idx_dataset(fx(img), fx(lab), "tiny");
    ASSERT_EQ(d.x.sizes(), (std::vector<int64_t>{3, 1, 2, 2}));
    EXPECT_EQ(d.x.scalar_type(), torch::kFloat);
    EXPECT_EQ(d.name, "tiny");
    EXPECT_EQ(d.num_classes, 3);
    EXPECT_EQ(d.sample_shape(), (std::vector<int64_t>{1, 2, 2}));
    expect_equal(d.y, torch::tensor({0, 2, 1}, torch::kLong));
    EXPECT_FLOAT_EQ(d.x[0][0][0][1].item<float>(), 1.0f);
    EXPECT_FLOAT_EQ(d.x[0][0][1][0].item<float>(), 128.0f / 255.0f);
    EXPECT_FLOAT_EQ(d.x[1][0][1][1].item<float>(), 40.0f / 255.0f);
    EXPECT_EQ(d.x.min().item<float>(), 0.0f);
  }
}

TEST(Idx, CorruptFilesGiveFileAndOffset) {
  EXPECT_ERROR_WITH(load_idx(fx("idx_bad_magic.idx")), "idx_bad_magic.idx: offset 0:", "bad magic");
  EXPECT_ERROR_WITH(load_idx(fx("idx_bad_type.idx")), "idx_bad_type.idx: offset 2:", "unsupported IDX element type 0x0A");
  EXPECT_ERROR_WITH(load_idx(fx("idx_no_dims.idx")), "idx_no_dims.idx: offset 3:", "0 dimensions");
  EXPECT_ERROR_WITH(load_idx(fx("idx_zero_dim.idx")), "idx_zero_dim.idx: offset 8:", "dimension 1 is 0");
  EXPECT_ERROR_WITH(load_idx(fx("idx_huge_dims.idx")), "idx_huge_dims.idx: offset 4:", "dimension 0 = 4294967295");
  EXPECT_ERROR_WITH(load_idx(fx("idx_truncated.idx")), "idx_truncated.idx: offset 12:", "10 bytes left");
  EXPECT_ERROR_WITH(load_idx(fx("idx_truncated_header.idx")), "idx_truncated_header.idx: offset 9:",
                    "truncated header");
  EXPECT_ERROR_WITH(load_idx(fx("idx_trailing.idx")), "idx_trailing.idx: offset 10:", "3 trailing bytes");
  EXPECT_ERROR_WITH(load_idx(fx("idx_empty.idx")), "idx_empty.idx: offset 0:", "too short");
  EXPECT_ERROR_WITH(load_idx(fx("idx_truncated.idx3.gz")), "idx_truncated.idx3.gz: offset ");
  EXPECT_ERROR_WITH(load_idx(fx("no_such_file.idx")), "no_such_file.idx", "cannot open");
  EXPECT_ERROR_WITH(load_idx(RKHS_FIXTURES), "is a directory");
}

TEST(Idx, DatasetErrors) {
  EXPECT_ERROR_WITH(load_idx_dataset(fx("idx_images.idx3"), fx("idx_labels_short.idx1"), "x"),
                    "idx_labels_short.idx1: offset 4:", "2 labels for 3 images", "idx_images.idx3");
  EXPECT_ERROR_WITH(load_idx_dataset(fx("idx_float.idx"), fx("idx_labels.idx1"), "x"), "idx_float.idx: offset 2:",
                    "unsigned bytes");
  EXPECT_ERROR_WITH(load_idx_dataset(fx("idx_images.idx3"), fx("idx_images.idx3"), "x"),
                    "idx_images.idx3: offset 3:", "1 dimension");
  EXPECT_ERROR_WITH(load_idx_dataset(fx("idx_sbyte.idx"), fx("idx_sbyte.idx"), "x"), "idx_sbyte.idx: offset 2:");
}

TEST(Idx, FashionMnistMissingFileNamesPackage) {
  EXPECT_FALSE(fashion_mnist_available(RKHS_FIXTURES));
  EXPECT_ERROR_WITH(load_fashion_mnist(true, RKHS_FIXTURES), "train-images-idx3-ubyte.gz",
                    "apt-get install dataset-fashion-mnist", "scripts/setup.sh");
  EXPECT_EQ(fashion_mnist_dir("/some/where"), "/some/where");
}

TEST(Idx, FashionMnistIfInstalled) {
  if (!fashion_mnist_available()) GTEST_SKIP() << "Fashion-MNIST not installed in " << fashion_mnist_dir();
  Dataset train = load_fashion_mnist(true);
  ASSERT_EQ(train.x.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(train.y.size(0), 60000);
  EXPECT_EQ(train.num_classes, 10);
  EXPECT_EQ(train.name, "fashion-mnist-train");
  EXPECT_GE(train.x.min().item<float>(), 0.0f);
  EXPECT_LE(train.x.max().item<float>(), 1.0f);
  // 6000 images of each class.
  expect_equal(torch::bincount(train.y), torch::full({10}, 6000, torch::kLong));
  Dataset test = load_fashion_mnist(false);
  ASSERT_EQ(test.x.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(test.num_classes, 10);
}

// ---- CSV ------------------------------------------------------------------------------------------------------

TEST(Csv, HeaderSpacesAndBlankTrailingLines) {
  Dataset d = load_csv(fx("csv_header.csv"));
  expect_equal(d.x, torch::tensor({1.5f, -2.0f, 300.0f, 0.25f, 4.0f, 5.5f}).reshape({3, 2}));
  expect_equal(d.y, torch::tensor({0, 2, 1}, torch::kLong));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.name, fx("csv_header.csv"));
  EXPECT_EQ(load_csv(fx("csv_header.csv"), 5).num_classes, 5);
}

TEST(Csv, NoHeaderCrlf) {
  Dataset d = load_csv(fx("csv_noheader_crlf.csv"));
  expect_equal(d.x, torch::tensor({0.5f, 0.25f, -1.0f, 1e-3f, 2.0f, 3.0f}).reshape({2, 3}));
  expect_equal(d.y, torch::tensor({1, 0}, torch::kLong));
  EXPECT_EQ(d.num_classes, 2);
}

TEST(Csv, CorruptFilesGiveFileAndLine) {
  EXPECT_ERROR_WITH(load_csv(fx("csv_ragged.csv")), "csv_ragged.csv:3:", "expected 3 fields (as on line 1), found 2");
  EXPECT_ERROR_WITH(load_csv(fx("csv_nan.csv")), "csv_nan.csv:2:", "column 2", "NaN");
  EXPECT_ERROR_WITH(load_csv(fx("csv_inf.csv")), "csv_inf.csv:2:", "column 3", "Inf");
  EXPECT_ERROR_WITH(load_csv(fx("csv_nonnumeric.csv")), "csv_nonnumeric.csv:3:", "column 2 ('a')",
                    "'1.5abc' is not a number");
  EXPECT_ERROR_WITH(load_csv(fx("csv_empty_field.csv")), "csv_empty_field.csv:1:", "column 3", "'' is not a number");
  EXPECT_ERROR_WITH(load_csv(fx("csv_label_range.csv"), 3), "csv_label_range.csv:3:", "label 5 is out of range [0, 3)");
  EXPECT_ERROR_WITH(load_csv(fx("csv_label_negative.csv")), "csv_label_negative.csv:2:", "label -1 is negative");
  EXPECT_ERROR_WITH(load_csv(fx("csv_label_float.csv")), "csv_label_float.csv:2:", "'1.5' is not an integer");
  EXPECT_ERROR_WITH(load_csv(fx("csv_late_header.csv")), "csv_late_header.csv:2:",
                    "a header is only allowed on line 1");
  EXPECT_ERROR_WITH(load_csv(fx("csv_empty.csv")), "csv_empty.csv:1:", "empty file");
  EXPECT_ERROR_WITH(load_csv(fx("csv_header_only.csv")), "csv_header_only.csv:2:", "no data rows");
  EXPECT_ERROR_WITH(load_csv(fx("missing.csv")), "missing.csv", "cannot open");
}

TEST(Csv, LabelRangeWithoutLimitLoads) {
  Dataset d = load_csv(fx("csv_label_range.csv"));
  EXPECT_EQ(d.num_classes, 6);
  expect_equal(d.y, torch::tensor({0, 1, 5}, torch::kLong));
}

// ---- LIBSVM ---------------------------------------------------------------------------------------------------

TEST(Libsvm, BinaryMinusPlusOneMapsToZeroOne) {
  std::vector<int64_t> original;
  Dataset d = load_libsvm(fx("libsvm_binary.libsvm"), 0, &original);
  expect_equal(d.x, torch::tensor({0.5f, 0.0f, -2.0f, 0.0f, 0.1f, 0.0f, 1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f})
                        .reshape({4, 3}));
  expect_equal(d.y, torch::tensor({1, 0, 1, 0}, torch::kLong));
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(original, (std::vector<int64_t>{-1, 1}));
  EXPECT_EQ(load_libsvm(fx("libsvm_binary.libsvm"), 5).x.size(1), 5);
}

TEST(Libsvm, LabelsZeroToCMinusOneAreKept) {
  std::vector<int64_t> original;
  Dataset d = load_libsvm(fx("libsvm_multi.libsvm"), 0, &original);
  expect_equal(d.x, torch::tensor({1.0f, 2.0f, 0.0f, -1.0f, 0.25f, 0.0f}).reshape({3, 2}));
  expect_equal(d.y, torch::tensor({0, 2, 1}, torch::kLong));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(original, (std::vector<int64_t>{0, 1, 2}));
  original.clear();  // a non-empty vector would be used as the mapping
  Dataset o = load_libsvm(fx("libsvm_one_based.libsvm"), 0, &original);
  expect_equal(o.y, torch::tensor({0, 2, 1}, torch::kLong));
  EXPECT_EQ(original, (std::vector<int64_t>{1, 2, 3}));
}

TEST(Libsvm, CorruptFilesGiveFileAndLine) {
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_bad_pair.libsvm")), "libsvm_bad_pair.libsvm:1:", "pair 2 '2-3'",
                    "expected index:value");
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_bad_order.libsvm")), "libsvm_bad_order.libsvm:2:",
                    "index 2 after 3: indices must be strictly increasing");
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_zero_index.libsvm")), "libsvm_zero_index.libsvm:1:", "1-based");
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_nan.libsvm")), "libsvm_nan.libsvm:2:", "NaN");
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_bad_label.libsvm")), "libsvm_bad_label.libsvm:2:",
                    "label '0.5' is not an integer");
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_bad_value.libsvm")), "libsvm_bad_value.libsvm:2:",
                    "'1.5abc' is not a number");
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_empty.libsvm")), "libsvm_empty.libsvm:", "empty file");
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_binary.libsvm"), 2), "libsvm_binary.libsvm:2:",
                    "index 3 is above num_features = 2");
}

TEST(Libsvm, DenseSizeLimitComesFromTheEnvironment) {
  // libsvm_multi is 3 x 2 = 6 values.
  ::setenv("RKHS_MAX_DENSE_VALUES", "5", 1);
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_multi.libsvm")), "libsvm_multi.libsvm", "a dense 3 x 2 matrix is too large",
                    "limit 5 values");
  ::setenv("RKHS_MAX_DENSE_VALUES", "6", 1);
  EXPECT_EQ(load_libsvm(fx("libsvm_multi.libsvm")).x.numel(), 6);
  ::setenv("RKHS_MAX_DENSE_VALUES", "lots", 1);
  EXPECT_ERROR_WITH(load_libsvm(fx("libsvm_multi.libsvm")), "RKHS_MAX_DENSE_VALUES must be a positive integer");
  ::unsetenv("RKHS_MAX_DENSE_VALUES");
}

// ---- never crash: every prefix and many byte edits of the good files load or throw rkhs::Error ---------------

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}
template <class F>
void expect_load_or_rkhs_error(const std::string& path, F load) {
  try {
    load(path);
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an rkhs::Error on " << path << ": " << e.what();
  }
}
}  // namespace

TEST(Robustness, TruncatedAndEditedFilesNeverCrash) {
  const std::string tmp = testing::TempDir() + "rkhs_data_robust";
  const auto idx = [](const std::string& p) { load_idx(p); };
  const auto csv = [](const std::string& p) { load_csv(p); };
  const auto svm = [](const std::string& p) { load_libsvm(p); };
  struct Case {
    const char* file;
    std::function<void(const std::string&)> load;
  };
  const Case cases[] = {{"idx_images.idx3", idx},       {"idx_float.idx", idx},
                        {"idx_images.idx3.gz", idx},    {"csv_header.csv", csv},
                        {"libsvm_binary.libsvm", svm},  {"libsvm_multi.libsvm", svm}};
  for (const Case& c : cases) {
    const std::string good = slurp(fx(c.file));
    ASSERT_FALSE(good.empty()) << c.file;
    const std::string path = tmp + "_" + c.file;
    for (size_t len = 0; len < good.size(); ++len) {  // every prefix
      spit(path, good.substr(0, len));
      expect_load_or_rkhs_error(path, c.load);
    }
    for (size_t i = 0; i < good.size(); ++i) {  // every byte replaced by a few values
      for (int v : {0x00, 0xFF, int(':'), int('\n')}) {
        std::string bad = good;
        bad[i] = static_cast<char>(v);
        spit(path, bad);
        expect_load_or_rkhs_error(path, c.load);
      }
    }
    std::remove(path.c_str());
  }
}

TEST(TextParsing, EdgeCases) {
  const std::string dir = testing::TempDir();
  const std::string p = dir + "rkhs_edge.csv";
  spit(p, "0,.5,1e-3,+2\n1,-0,7E2,3\n");
  Dataset d = load_csv(p);
  EXPECT_TRUE(torch::equal(d.x, torch::tensor({0.5f, 1e-3f, 2.0f, 0.0f, 700.0f, 3.0f}).reshape({2, 3})));
  spit(p, "0,1e400\n");
  EXPECT_ERROR_WITH(load_csv(p), "rkhs_edge.csv:1:", "column 2: '1e400' does not fit in float32");
  spit(p, "0,0x10\n");
  EXPECT_ERROR_WITH(load_csv(p), "rkhs_edge.csv:1:", "'0x10' is not a number");
  spit(p, "0\n");
  EXPECT_ERROR_WITH(load_csv(p), "rkhs_edge.csv:1:", "need a label and at least one feature");
  spit(p, "label,a\n0,1\n1,2,3\n");
  EXPECT_ERROR_WITH(load_csv(p), "rkhs_edge.csv:3:", "expected 2 fields (as on line 1), found 3");
  spit(p, "\xEF\xBB\xBF" "0,1\n");
  EXPECT_EQ(load_csv(p).size(), 1);
  spit(p, "label,a\n\n0,1\n\n1,2\n\n");
  EXPECT_EQ(load_csv(p).size(), 2);
  std::remove(p.c_str());

  const std::string q = dir + "rkhs_edge.libsvm";
  spit(q, "1 1:inf\n");
  EXPECT_ERROR_WITH(load_libsvm(q), "rkhs_edge.libsvm:1:", "Inf is not allowed");
  spit(q, "1 qid:3 1:1\n");
  EXPECT_ERROR_WITH(load_libsvm(q), "rkhs_edge.libsvm:1:", "qid");
  spit(q, "1:2 3:4\n");
  EXPECT_ERROR_WITH(load_libsvm(q), "rkhs_edge.libsvm:1:", "missing label");
  spit(q, "1 x:2\n");
  EXPECT_ERROR_WITH(load_libsvm(q), "rkhs_edge.libsvm:1:", "index 'x' is not an integer");
  spit(q, "1 1:\n");
  EXPECT_ERROR_WITH(load_libsvm(q), "rkhs_edge.libsvm:1:", "expected index:value");
  spit(q, "0 4294967296:1\n");
  EXPECT_ERROR_WITH(load_libsvm(q), "rkhs_edge.libsvm", "too large");
  spit(q, "0 2:5\n2 1:1\n");  // labels {0, 2} are not 0..C-1: mapped to {0, 1}
  std::vector<int64_t> orig;
  Dataset s = load_libsvm(q, 0, &orig);
  EXPECT_TRUE(torch::equal(s.y, torch::tensor({0, 1}, torch::kLong)));
  EXPECT_EQ(orig, (std::vector<int64_t>{0, 2}));
  EXPECT_TRUE(torch::equal(s.x, torch::tensor({0.0f, 5.0f, 1.0f, 0.0f}).reshape({2, 2})));
  // A test file with only some classes, read with the training file's mapping.
  std::vector<int64_t> train_map{-1, 1, 3};
  spit(q, "3 1:1\n3 1:2\n");
  Dataset t = load_libsvm(q, 0, &train_map);
  EXPECT_TRUE(torch::equal(t.y, torch::tensor({2, 2}, torch::kLong)));
  EXPECT_EQ(t.num_classes, 3);
  EXPECT_EQ(train_map, (std::vector<int64_t>{-1, 1, 3}));
  spit(q, "3 1:1\n2 1:2\n");
  EXPECT_ERROR_WITH(load_libsvm(q, 0, &train_map), "rkhs_edge.libsvm:2:", "label 2 is not one of the 3 labels");
  std::remove(q.c_str());
}
