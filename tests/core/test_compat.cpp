#include <gtest/gtest.h>

#include "rkhs/compat.h"
#include "rkhs/error.h"

TEST(Compat, TorchVersionIsDotted) {
  const std::string v = rkhs::compat::torch_version();
  EXPECT_EQ(std::count(v.begin(), v.end(), '.'), 2) << v;
}

TEST(Compat, ParseDevice) {
  EXPECT_TRUE(rkhs::compat::parse_device("cpu").is_cpu());
  EXPECT_THROW(rkhs::compat::parse_device("tpu"), rkhs::Error);
  if (!rkhs::compat::cuda_available()) {
    EXPECT_THROW(rkhs::compat::parse_device("cuda"), rkhs::Error);
  }
}

TEST(Compat, EighMatchesReconstruction) {
  auto a = torch::randn({5, 5}, torch::kFloat64);
  a = a.matmul(a.t());
  auto [e, v] = rkhs::compat::eigh(a);
  EXPECT_TRUE(torch::allclose(v.matmul(torch::diag(e)).matmul(v.t()), a, 1e-9, 1e-9));
  EXPECT_TRUE(torch::all(e.slice(0, 1) >= e.slice(0, 0, -1)).item<bool>());
}

TEST(Compat, PinvOfSingularMatrixIsFinite) {
  auto a = torch::ones({4, 4}, torch::kFloat64);
  auto p = rkhs::compat::pinv(a);
  EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  EXPECT_TRUE(torch::allclose(a.matmul(p).matmul(a), a, 1e-9, 1e-9));
}

// The classic TCPStore fallback on option structs shaped like c10d's: with useLibUV (LibTorch >= 2.4) and without.
TEST(Compat, ClassicTcpStoreTurnsLibuvOffWhereTheOptionExists) {
  struct WithLibuv {
    bool useLibUV = true;
  } with;
  EXPECT_TRUE(rkhs::compat::use_classic_tcp_store(with));
  EXPECT_FALSE(with.useLibUV);
  EXPECT_FALSE(rkhs::compat::use_classic_tcp_store(with));  // off already: nothing to retry with
  struct WithoutLibuv {
    int port = 0;
  } without;
  EXPECT_FALSE(rkhs::compat::use_classic_tcp_store(without));
}

TEST(Error, FileErrorsNameFileAndPlace) {
  EXPECT_STREQ(rkhs::file_error("a.csv", 3, "bad").what(), "a.csv:3: bad");
  EXPECT_STREQ(rkhs::file_offset_error("x.idx", 16, "short").what(), "x.idx: offset 16: short");
}
