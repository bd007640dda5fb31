// Gram matrices against float64 loop references; diag against gram's diagonal; dtype, shapes, input errors.
#include <gtest/gtest.h>

#include "kernels/kernel_reference.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/distance.h"
#include "rkhs/kernels/kernel.h"

using namespace kernel_test;
using rkhs::kernels::make_kernel;

TEST(KernelValues, GramMatchesLoopReference) {
  torch::manual_seed(11);
  for (const auto& c : cases()) {
    auto k = make_kernel(c.spec);
    auto x = inputs(7, 4, c.sphere, c.scale), y = inputs(5, 4, c.sphere, c.scale);
    auto g = k->gram(x, y);
    ASSERT_EQ(g.sizes(), (std::vector<int64_t>{7, 5})) << c.spec;
    ASSERT_EQ(g.scalar_type(), torch::kFloat64) << c.spec;
    int nonzero = 0;
    for (int64_t i = 0; i < 7; ++i)
      for (int64_t j = 0; j < 5; ++j) {
        const double want = c.ref(row(x, i), row(y, j)), got = g[i][j].item<double>();
        nonzero += want != 0;
        EXPECT_NEAR(got, want, 1e-10 * std::max(1.0, std::abs(want))) << c.spec << " at " << i << "," << j;
      }
    EXPECT_GT(nonzero, 10) << c.spec << ": reference is degenerate on these inputs";
  }
}

TEST(KernelValues, DiagMatchesGramDiagonal) {
  torch::manual_seed(12);
  for (const auto& c : cases()) {
    auto k = make_kernel(c.spec);
    auto x = inputs(6, 3, c.sphere, c.scale);
    x[2] = x[4];  // a duplicate row
    if (!c.sphere) x[5].zero_();  // a zero row (off the sphere kernels' domain otherwise)
    auto d = k->diag(x), g = k->gram(x, x).diagonal();
    ASSERT_EQ(d.sizes(), (std::vector<int64_t>{6})) << c.spec;
    // arccos order 0: J_0 = pi - arccos(c) has infinite slope at c = 1, so the ~1e-16 rounding of the cosine
    // of x with itself inside gram() moves k(x, x) by ~1e-8; diag() uses c = 1 exactly.
    const double tol = c.spec == "arccos:order=0" ? 1e-7 : 1e-12;
    if (c.spec == "series:eps=0") {
      // Exact indicators: gram's computed <x^, x^> = 1 +- 1 ulp decides [t = 1] by its last bit, which is why
      // the tolerance exists; diag uses t = 1 exactly: a_-2 + a_-1 + sum a_m = 13.
      EXPECT_TRUE(torch::allclose(d, torch::full({6}, 13.0, torch::kFloat64), 0, 1e-12)) << d;
      continue;
    }
    EXPECT_TRUE(torch::allclose(d, g, tol, tol)) << c.spec << "\n" << d << "\n" << g;
    for (int64_t i = 0; i < 5; ++i)
      EXPECT_NEAR(d[i].item<double>(), c.ref(row(x, i), row(x, i)), 1e-12 * std::max(1.0, std::abs(d[i].item<double>())))
          << c.spec << " row " << i;
  }
}

TEST(KernelValues, Float32InFloat32Out) {
  torch::manual_seed(13);
  for (const auto& c : cases()) {
    auto k = make_kernel(c.spec);
    auto x = inputs(6, 3, c.sphere, c.scale), y = inputs(4, 3, c.sphere, c.scale);
    auto g32 = k->gram(x.to(torch::kFloat32), y.to(torch::kFloat32));
    auto d32 = k->diag(x.to(torch::kFloat32));
    EXPECT_EQ(g32.scalar_type(), torch::kFloat32) << c.spec;
    EXPECT_EQ(d32.scalar_type(), torch::kFloat32) << c.spec;
    EXPECT_TRUE(torch::allclose(g32.to(torch::kFloat64), k->gram(x, y), 1e-4, 1e-4)) << c.spec;
  }
}

TEST(KernelValues, EmptyInputsGiveEmptyGram) {
  for (const auto& c : cases()) {
    auto k = make_kernel(c.spec);
    auto g = k->gram(torch::zeros({0, 3}, torch::kFloat64), torch::ones({2, 3}, torch::kFloat64));
    EXPECT_EQ(g.sizes(), (std::vector<int64_t>{0, 2})) << c.spec;
    EXPECT_EQ(k->diag(torch::zeros({0, 3}, torch::kFloat64)).numel(), 0) << c.spec;
  }
}

TEST(KernelValues, BadInputShapesThrow) {
  auto k = make_kernel("rbf");
  auto x = torch::ones({3, 2}, torch::kFloat64);
  EXPECT_THROW(k->gram(x, torch::ones({3, 4}, torch::kFloat64)), rkhs::Error);
  EXPECT_THROW(k->gram(torch::ones({3}, torch::kFloat64), x), rkhs::Error);
  EXPECT_THROW(k->gram(x, torch::ones({3, 2}, torch::kFloat32)), rkhs::Error);
  EXPECT_THROW(k->gram(torch::ones({3, 2}, torch::kLong), torch::ones({3, 2}, torch::kLong)), rkhs::Error);
}

TEST(Distances, BothFormsMatchReferenceAndDirectIsExactAtZero) {
  torch::manual_seed(14);
  auto x = inputs(6, 5, false, 3.0), y = inputs(4, 5, false, 3.0);
  y[1] = x[3];
  auto a = rkhs::kernels::squared_distances(x, y), b = rkhs::kernels::squared_distances_direct(x, y);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      const double want = sqdist(row(x, i), row(y, j));
      EXPECT_NEAR(a[i][j].item<double>(), want, 1e-12 * 50) << i << "," << j;
      EXPECT_NEAR(b[i][j].item<double>(), want, 1e-13 * std::max(1.0, want)) << i << "," << j;
    }
  EXPECT_EQ(b[3][1].item<double>(), 0.0);
  EXPECT_GE(a.min().item<double>(), 0.0);
}

TEST(Distances, DirectIsBlockedConsistently) {
  // Enough rows that the forward pass runs in several blocks (block budget 2^22 elements of (rows, m, d)).
  torch::manual_seed(15);
  auto x = torch::randn({300, 64}, torch::kFloat64), y = torch::randn({260, 64}, torch::kFloat64);
  auto b = rkhs::kernels::squared_distances_direct(x, y);
  EXPECT_TRUE(torch::allclose(b, rkhs::kernels::squared_distances(x, y), 1e-10, 1e-10));
}

TEST(KernelValues, CoincidentPointsWithLargeNormsAreExact) {
  // Large norms make the matmul form's rounding visible (~1e-16 * ||x||^2 ~ 1e-12 here): the Laplacian and
  // finite-support kernels use direct differences and must give exactly 1 at zero distance; through the
  // matmul form the Laplacian would be off by ~sqrt(1e-12) = 1e-6.
  torch::manual_seed(16);
  auto x = torch::randn({30, 50}, torch::kFloat64) * 10;
  for (const auto* spec : {"laplacian", "laplacian:gamma=3", "finite", "finite:a=0.01"}) {
    auto g = make_kernel(spec)->gram(x, x);
    EXPECT_TRUE(torch::equal(g.diagonal(), torch::ones({30}, torch::kFloat64))) << spec << "\n" << g.diagonal();
  }
  EXPECT_TRUE(torch::allclose(make_kernel("rbf:gamma=1e-3")->gram(x, x).diagonal(), torch::ones({30}, torch::kFloat64),
                              0, 1e-10));
  auto arccos = make_kernel("arccos");
  EXPECT_TRUE(torch::allclose(arccos->gram(x, x).diagonal(), arccos->diag(x), 1e-13, 0));
}
