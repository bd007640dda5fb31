// make_kernel / kernel_names / kernel_help: canonical names round-trip, errors name the spec.
#include <gtest/gtest.h>

#include "kernels/kernel_reference.h"
#include "rkhs/error.h"
#include "rkhs/kernels/builtin.h"
#include "rkhs/kernels/kernel.h"

using rkhs::kernels::make_kernel;

TEST(KernelRegistry, NamesAreSortedAndComplete) {
  const std::vector<std::string> want = {"arccos", "expdot", "finite", "laplacian", "linear",
                                         "polynomial", "rbf", "series", "tanh"};
  EXPECT_EQ(rkhs::kernels::kernel_names(), want);
  const std::string help = rkhs::kernels::kernel_help();
  for (const auto& n : want)
    EXPECT_TRUE(help.rfind(n + " ", 0) == 0 || help.find("\n" + n + " ") != std::string::npos) << n << "\n" << help;
  EXPECT_EQ(std::count(help.begin(), help.end(), '\n'), static_cast<long>(want.size()));
  EXPECT_EQ(help.rfind("arccos ", 0), 0u);
}

TEST(KernelRegistry, CanonicalNameRoundTrips) {
  torch::manual_seed(41);
  std::vector<std::string> specs;
  for (const auto& c : kernel_test::cases()) specs.push_back(c.spec);
  for (const auto* s : {"rbf:gamma=0.1", "rbf:sigma=0.3", "polynomial:scale=1e-3,offset=-2.5,degree=10",
                        "tanh:offset=0.1", "series:alpha=1;2;3;4", "series:order=0", "series:eps=0,order=1",
                        "laplacian:gamma=1e+300", "expdot:sigma=0.1234567890123"})
    specs.push_back(s);
  for (const auto& spec : specs) {
    auto k = make_kernel(spec);
    const std::string name = k->name();
    auto k2 = make_kernel(name);
    EXPECT_EQ(k2->name(), name) << spec;
    EXPECT_EQ(k2->is_positive_definite(), k->is_positive_definite()) << spec;
    const bool sphere = k->requires_unit_sphere();
    auto x = kernel_test::inputs(5, 3, sphere), y = kernel_test::inputs(4, 3, sphere);
    EXPECT_TRUE(torch::equal(k->gram(x, y), k2->gram(x, y))) << spec << " -> " << name;
  }
}

TEST(KernelRegistry, CanonicalNamesOfDefaults) {
  EXPECT_EQ(make_kernel("linear")->name(), "linear");
  EXPECT_EQ(make_kernel("rbf")->name(), "rbf:gamma=1");
  EXPECT_EQ(make_kernel("rbf:sigma=2")->name(), "rbf:gamma=0.125");
  EXPECT_EQ(make_kernel("polynomial")->name(), "polynomial:degree=3,offset=1,scale=1");
  EXPECT_EQ(make_kernel("expdot")->name(), "expdot:sigma=0.6");
  EXPECT_EQ(make_kernel("arccos")->name(), "arccos:order=1");
  EXPECT_EQ(make_kernel("finite")->name(), "finite:a=1");
  EXPECT_EQ(make_kernel("tanh")->name(), "tanh:scale=1,offset=0");
  EXPECT_EQ(make_kernel("laplacian:gamma=1e-6")->name(), "laplacian:gamma=1e-06");
  EXPECT_EQ(make_kernel("series:order=1,alpha=0;0.5;1;2")->name(), "series:order=1,eps=1e-06,alpha=0;0.5;1;2");
  EXPECT_EQ(make_kernel("series")->name(),
            "series:order=10,eps=1e-06,alpha=1;1;1;1;1;1;1;1;1;1;1;1;1");
  // Inferred order from alpha.
  auto s = std::dynamic_pointer_cast<rkhs::kernels::SeriesKernel>(make_kernel("series:alpha=1;2;3;4;5"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->order(), 2);
}

TEST(KernelRegistry, BadSpecsThrowNamingTheSpec) {
  for (const std::string spec :
       {"rbf:gamma=-1", "rbf:gama=1", "nosuch", "polynomial:degree=x", "series:order=2,alpha=1;2", "", "rbf:",
        "rbf:gamma", "rbf:gamma=1,gamma=2", "rbf:gamma=inf", "rbf:gamma=nan", "rbf:gamma=0", "rbf:gamma=1x",
        "rbf:gamma= 1", "rbf:gamma=1,sigma=1", "rbf:sigma=-2", "linear:x=1", "polynomial:degree=0",
        "polynomial:degree=1.5", "polynomial:degree=99999999999999999999", "polynomial:offset=1e999",
        "laplacian:sigma=1", "expdot:sigma=0", "arccos:order=2", "arccos:order=-1", "tanh:scale=", "finite:a=0",
        "finite:a=-1", "series:alpha=1;-1;1", "series:alpha=1;1", "series:alpha=1;;1;1", "series:eps=1",
        "series:eps=-0.1", "series:order=-1", "series:order=5000", "series:order=1,alpha=1;1;1;1;1", "RBF"}) {
    try {
      make_kernel(spec);
      ADD_FAILURE() << "no error for '" << spec << "'";
    } catch (const rkhs::Error& e) {
      EXPECT_NE(std::string(e.what()).find("'" + spec + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(KernelRegistry, ErrorMessagesSayWhatIsWrong) {
  auto message = [](const std::string& spec) {
    try {
      make_kernel(spec);
    } catch (const rkhs::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message("rbf:gama=1").find("unknown key 'gama'"), std::string::npos) << message("rbf:gama=1");
  EXPECT_NE(message("rbf:gama=1").find("gamma"), std::string::npos);
  EXPECT_NE(message("nosuch").find("unknown kernel 'nosuch'"), std::string::npos);
  EXPECT_NE(message("rbf:gamma=-1").find("gamma must be > 0"), std::string::npos);
  EXPECT_NE(message("series:order=2,alpha=1;2").find("alpha needs order + 3 = 5"), std::string::npos)
      << message("series:order=2,alpha=1;2");
}

TEST(KernelRegistry, ConstructorsValidate) {
  using namespace rkhs::kernels;
  EXPECT_THROW(RbfKernel(-1), rkhs::Error);
  EXPECT_THROW(LaplacianKernel(0), rkhs::Error);
  EXPECT_THROW(PolynomialKernel(0), rkhs::Error);
  EXPECT_THROW(ArcCosKernel(3), rkhs::Error);
  EXPECT_THROW(ExpDotKernel(-0.5), rkhs::Error);
  EXPECT_THROW(FiniteSupportKernel(0), rkhs::Error);
  EXPECT_THROW(TanhKernel(std::nan(""), 0), rkhs::Error);
  EXPECT_THROW(SeriesKernel({1, 1}), rkhs::Error);
  EXPECT_THROW(SeriesKernel({1, -1, 1}), rkhs::Error);
  EXPECT_THROW(SeriesKernel({1, 1, 1}, 1.0), rkhs::Error);
  EXPECT_EQ(SeriesKernel().name(), make_kernel("series")->name());
}
