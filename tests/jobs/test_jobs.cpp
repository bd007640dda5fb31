// The CLI's jobs as library calls: data requests, and the classify and embed jobs end to end on small data.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "rkhs/error.h"
#include "rkhs/jobs/classify_job.h"
#include "rkhs/jobs/data_spec.h"
#include "rkhs/jobs/embed_job.h"

using rkhs::jobs::DataRequest;
using rkhs::jobs::load_data;

namespace {

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("rkhs_jobs_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

int64_t count_lines(const std::string& path) {
  std::ifstream in(path);
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace

// --test-size acts on the synthetic sets: the test part has the asked size (balanced), the training part is the
// one the request would have without it.
TEST(JobsData, TestSizeActsOnMoonsAndCircles) {
  for (const char* spec : {"moons", "circles"}) {
    DataRequest r;
    r.spec = spec;
    r.seed = 3;
    r.train_size = 300;
    const auto plain = load_data(r);
    r.test_size = 60;
    const auto sized = load_data(r);
    EXPECT_EQ(sized.test.size(), 60) << spec;
    EXPECT_EQ(sized.train.size(), plain.train.size()) << spec;
    EXPECT_EQ(sized.test.y.eq(0).sum().item<int64_t>(), 30) << spec;  // stratified: both classes alike
    EXPECT_NE(plain.test.size(), 60) << spec;  // the fraction alone gives another size (75)
  }
}

TEST(JobsData, SphereCountsAndUnknownSpecs) {
  DataRequest r;
  r.train_size = 400;
  r.test_size = 100;
  r.validation_fraction = 0.1;
  const auto d = load_data(r);
  EXPECT_EQ(d.train.size(), 360);
  ASSERT_TRUE(d.validation.has_value());
  EXPECT_EQ(d.validation->size(), 40);
  EXPECT_EQ(d.test.size(), 100);
  ASSERT_TRUE(d.bayes_accuracy.has_value());
  EXPECT_GT(*d.bayes_accuracy, 0.9);
  r.spec = "nosuch";
  EXPECT_THROW(load_data(r), rkhs::Error);
  r.spec = "moons";
  r.test_fraction = 1.5;
  EXPECT_THROW(load_data(r), rkhs::Error);
}

// The classify job on the sphere data with the kernelized head: it learns (the exact Bayes accuracy is ~97%), the
// run folder holds one metrics row per epoch, and the JSON carries the same numbers as the result.
TEST(JobsClassify, SphereRunLearnsAndWritesItsFolder) {
  rkhs::jobs::ClassifyConfig c;
  c.data.spec = "sphere";
  c.data.train_size = 1000;
  c.data.test_size = 400;
  c.data.seed = 1;
  c.head.name = "kernelized";
  c.train.epochs = 8;
  c.train.lr = 0.5;
  c.train.progress = false;
  c.train.seed = 1;
  c.out_dir = temp_dir("classify");
  const auto r = rkhs::jobs::run_classify(c);
  EXPECT_GT(r.test.accuracy, 0.8);
  EXPECT_EQ(r.test.n, 400);
  EXPECT_EQ(r.fit.history.size(), 8u);
  EXPECT_EQ(count_lines(c.out_dir + "/metrics.csv"), 1 + 8);
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/model.pt"));
  const auto j = nlohmann::json::parse(r.to_json(c));
  EXPECT_DOUBLE_EQ(j.at("test").at("accuracy").get<double>(), r.test.accuracy);
  std::filesystem::remove_all(c.out_dir);
}

// The learning-rate search (issue 26): each candidate's validation score equals that of a separate fixed-rate run of
// the search's length on the same split, the chosen rate is the best of them, and the final model trains with it.
TEST(JobsClassify, LrSearchChoosesTheRateWithTheBestValidationScore) {
  rkhs::jobs::ClassifyConfig c;
  c.data.spec = "sphere";
  c.data.train_size = 600;
  c.data.test_size = 200;
  c.data.validation_fraction = 0.2;
  c.data.seed = 2;
  c.head.name = "kernelized";
  c.train.epochs = 4;  // the candidates run 1 epoch each
  c.train.lr = 0.2;
  c.train.progress = false;
  c.train.seed = 2;
  c.lr_search = true;
  c.lr_search_factors = {4, 1, 0.25};
  const auto r = rkhs::jobs::run_classify(c);
  ASSERT_TRUE(r.lr_search.has_value());
  const auto& s = *r.lr_search;
  ASSERT_EQ(s.rates.size(), 3u);
  EXPECT_EQ(s.epochs, 1);
  EXPECT_FALSE(s.held_out);
  EXPECT_EQ(s.validation_size, 120);
  size_t best = 0;
  for (size_t k = 0; k < s.rates.size(); ++k) {
    EXPECT_DOUBLE_EQ(s.rates[k], c.train.lr * c.lr_search_factors[k]);
    auto fixed = c;
    fixed.lr_search = false;
    fixed.train.epochs = 1;
    fixed.train.lr = s.rates[k];
    const auto f = rkhs::jobs::run_classify(fixed);
    ASSERT_TRUE(f.validation.has_value());
    EXPECT_NEAR(f.validation->accuracy, s.validation_accuracy[k], 1e-12) << "rate " << s.rates[k];
    EXPECT_NEAR(f.validation->nll, s.validation_nll[k], 1e-6) << "rate " << s.rates[k];
    if (s.validation_accuracy[k] > s.validation_accuracy[best] ||
        (s.validation_accuracy[k] == s.validation_accuracy[best] && s.validation_nll[k] < s.validation_nll[best]))
      best = k;
  }
  EXPECT_EQ(s.chosen, s.rates[best]);
  EXPECT_EQ(r.fit.history.size(), 4u);
  const auto j = nlohmann::json::parse(r.to_json(c));
  EXPECT_EQ(j.at("lr").get<double>(), s.chosen);
  EXPECT_EQ(j.at("chosen").at("lr").get<double>(), s.chosen);
  EXPECT_EQ(j.at("config").at("lr").get<double>(), 0.2);
  EXPECT_EQ(j.at("lr_search").at("rates").size(), 3u);
  // Without a validation split the search holds out 10% of the training part; bad factors are refused.
  c.data.validation_fraction = 0;
  const auto h = rkhs::jobs::run_classify(c);
  ASSERT_TRUE(h.lr_search.has_value());
  EXPECT_TRUE(h.lr_search->held_out);
  EXPECT_EQ(h.lr_search->validation_size, 60);
  c.lr_search_factors = {1, -1};
  EXPECT_THROW(rkhs::jobs::run_classify(c), rkhs::Error);
}

// The activation search before the rate search (kernelized head): each activation's score equals a fixed run with
// that activation at the base rate, the best one is chosen, the rates are then tried with it (the base rate's score
// reused), and the final head uses it.
TEST(JobsClassify, ActivationSearchChoosesTheBestActivationThenTheRate) {
  rkhs::jobs::ClassifyConfig c;
  c.data.spec = "sphere";
  c.data.train_size = 600;
  c.data.test_size = 200;
  c.data.validation_fraction = 0.2;
  c.data.seed = 4;
  c.head.name = "kernelized";
  c.train.epochs = 4;
  c.train.lr = 0.2;
  c.train.progress = false;
  c.train.seed = 4;
  c.lr_search = true;
  c.activation_search = true;
  c.lr_search_factors = {2, 1};
  const auto r = rkhs::jobs::run_classify(c);
  ASSERT_TRUE(r.lr_search.has_value());
  const auto& s = *r.lr_search;
  ASSERT_EQ(s.activations, c.activation_candidates);
  size_t best = 0;
  for (size_t k = 0; k < s.activations.size(); ++k) {
    auto fixed = c;
    fixed.lr_search = fixed.activation_search = false;
    fixed.train.epochs = 1;
    fixed.head.activation = s.activations[k];
    const auto f = rkhs::jobs::run_classify(fixed);
    EXPECT_NEAR(f.validation->accuracy, s.activation_accuracy[k], 1e-12) << s.activations[k];
    if (s.activation_accuracy[k] > s.activation_accuracy[best] ||
        (s.activation_accuracy[k] == s.activation_accuracy[best] && s.activation_nll[k] < s.activation_nll[best]))
      best = k;
  }
  EXPECT_EQ(s.chosen_activation, s.activations[best]);
  ASSERT_EQ(s.rates.size(), 2u);
  EXPECT_EQ(s.validation_accuracy[1], s.activation_accuracy[best]);  // factor 1: the score above
  auto fast = c;
  fast.lr_search = fast.activation_search = false;
  fast.train.epochs = 1;
  fast.train.lr = s.rates[0];
  fast.head.activation = s.chosen_activation;
  EXPECT_NEAR(rkhs::jobs::run_classify(fast).validation->accuracy, s.validation_accuracy[0], 1e-12);
  EXPECT_NE(r.head.find("act=" + s.chosen_activation), std::string::npos) << r.head;
  const auto j = nlohmann::json::parse(r.to_json(c));
  EXPECT_EQ(j.at("chosen").at("activation").get<std::string>(), s.chosen_activation);
  EXPECT_EQ(j.at("lr_search").at("activations").size(), 3u);
  // Other heads: no activation search.
  c.head.name = "softmax";
  EXPECT_TRUE(rkhs::jobs::run_classify(c).lr_search->activations.empty());
}

// The embed job in its four stages: the test points embedded in the plane, one CSV row each with the prediction,
// a k-NN accuracy well above chance on the moons.
TEST(JobsEmbed, MoonsEmbeddingCsvHasOneRowPerTestPoint) {
  rkhs::jobs::EmbedConfig c;
  c.data.spec = "moons";
  c.data.train_size = 300;
  c.data.test_size = 100;
  c.net.encoder = {16};
  c.net.decoder = {16};
  c.net.grid = 6;
  c.epochs = 20;
  c.progress = false;
  c.out_dir = temp_dir("embed");
  const auto r = rkhs::jobs::run_embed(c);
  EXPECT_EQ(count_lines(c.out_dir + "/embedding.csv"), 1 + 100);
  EXPECT_GT(r.test_accuracy, 0.7);
  EXPECT_GT(r.knn_accuracy, 0.7);
  EXPECT_GT(r.parameters, 0);
  std::filesystem::remove_all(c.out_dir);
  c.out_dir.clear();
  EXPECT_THROW(rkhs::jobs::run_embed(c), rkhs::Error);  // the job needs its output folder
}
