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

// Successive halving written out from fixed-rate runs: each run's validation metrics at the rung's epoch
// (accuracy, then NLL) score it; the better half (ceil; ties: grid order) goes on. Returns the index of the one
// left and, per candidate, the rung at which it left (the survivor: the last rung).
std::pair<size_t, std::vector<int64_t>> halving_by_hand(const std::vector<rkhs::jobs::ClassifyResult>& runs,
                                                        const std::vector<int64_t>& rungs) {
  std::vector<size_t> alive(runs.size());
  for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
  std::vector<int64_t> left(runs.size(), 0);
  for (int64_t rung : rungs) {
    std::stable_sort(alive.begin(), alive.end(), [&](size_t a, size_t b) {
      const auto& x = *runs[a].fit.history[rung - 1].validation;
      const auto& y = *runs[b].fit.history[rung - 1].validation;
      return x.accuracy > y.accuracy || (x.accuracy == y.accuracy && x.nll < y.nll);
    });
    for (size_t i : alive) left[i] = rung;
    alive.resize((alive.size() + 1) / 2);
  }
  return {alive.front(), left};
}

// A small sphere run of the kernelized head with a 20% validation split and the search on (the base rate 0.2 and
// the factors are each test's).
rkhs::jobs::ClassifyConfig search_on_sphere(uint64_t seed, int64_t train_size, int64_t epochs) {
  rkhs::jobs::ClassifyConfig c;
  c.data.spec = "sphere";
  c.data.train_size = train_size;
  c.data.test_size = 200;
  c.data.validation_fraction = 0.2;
  c.data.seed = seed;
  c.head.name = "kernelized";
  c.train.epochs = epochs;
  c.train.lr = 0.2;
  c.train.progress = false;
  c.train.seed = seed;
  c.lr_search = true;
  return c;
}

// The learning-rate search (issue 26) by successive halving: the rungs, each candidate's score and the survivor
// agree with halving written out over separate fixed-rate runs of the full length, and the final model is the
// survivor trained to the end: the same run as the fixed-rate run of the chosen rate, epoch by epoch.
TEST(JobsClassify, LrSearchHalvesTheCandidatesAndTrainsTheSurvivorToTheEnd) {
  auto c = search_on_sphere(2, 600, 4);
  c.lr_search_factors = {4, 1, 0.25};
  const auto r = rkhs::jobs::run_classify(c);
  ASSERT_TRUE(r.lr_search.has_value());
  const auto& s = *r.lr_search;
  ASSERT_EQ(s.candidates.size(), 3u);
  EXPECT_EQ(s.rungs, (std::vector<int64_t>{1, 2}));  // 3 -> 2 at a quarter of the run, 2 -> 1 at half
  EXPECT_FALSE(s.held_out);
  EXPECT_EQ(s.validation_size, 120);
  std::vector<rkhs::jobs::ClassifyResult> fixed_runs;
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_DOUBLE_EQ(s.candidates[k].lr, c.train.lr * c.lr_search_factors[k]);
    EXPECT_TRUE(s.candidates[k].activation.empty());
    auto fixed = c;
    fixed.lr_search = false;
    fixed.train.lr = s.candidates[k].lr;
    fixed_runs.push_back(rkhs::jobs::run_classify(fixed));
  }
  const auto [chosen, left] = halving_by_hand(fixed_runs, s.rungs);
  EXPECT_EQ(s.chosen, s.candidates[chosen].lr);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(s.candidates[k].epochs, left[k]) << "rate " << s.candidates[k].lr;
    const auto& at_rung = *fixed_runs[k].fit.history[left[k] - 1].validation;
    EXPECT_NEAR(s.candidates[k].validation_accuracy, at_rung.accuracy, 1e-12) << "rate " << s.candidates[k].lr;
    EXPECT_NEAR(s.candidates[k].validation_nll, at_rung.nll, 1e-9) << "rate " << s.candidates[k].lr;
  }
  // The final model: the chosen rate's run, continued after the search's last rung (nothing retrained).
  const auto& same = fixed_runs[chosen];
  ASSERT_EQ(r.fit.history.size(), 4u);
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_NEAR(r.fit.history[e].train_loss, same.fit.history[e].train_loss, 1e-12) << "epoch " << e + 1;
    EXPECT_NEAR(r.fit.history[e].validation->accuracy, same.fit.history[e].validation->accuracy, 1e-12);
  }
  EXPECT_EQ(r.fit.best_epoch, same.fit.best_epoch);
  EXPECT_NEAR(r.test.accuracy, same.test.accuracy, 1e-12);
  EXPECT_NEAR(r.test.nll, same.test.nll, 1e-9);
  const auto j = nlohmann::json::parse(r.to_json(c));
  EXPECT_EQ(j.at("lr").get<double>(), s.chosen);
  EXPECT_EQ(j.at("chosen").at("lr").get<double>(), s.chosen);
  EXPECT_EQ(j.at("config").at("lr").get<double>(), 0.2);
  EXPECT_EQ(j.at("lr_search").at("rates").size(), 3u);
  EXPECT_EQ(j.at("lr_search").at("candidates").size(), 3u);
  // Without a validation split the search holds out 10% of the training part; the final model trains on the other
  // 90% up to the last rung and on all 600 points after it, keeping its last epoch (the hold-out chose the candidate,
  // it does not stop early); bad factors are refused.
  c.data.validation_fraction = 0;
  const auto h = rkhs::jobs::run_classify(c);
  ASSERT_TRUE(h.lr_search.has_value());
  EXPECT_TRUE(h.lr_search->held_out);
  EXPECT_EQ(h.lr_search->validation_size, 60);
  EXPECT_EQ(h.lr_search->held_out_joins_after, 2);
  EXPECT_FALSE(h.validation.has_value());
  EXPECT_EQ(h.labelled, 600);
  EXPECT_EQ(h.trained_on, 600);
  EXPECT_EQ(h.train.n, 600);
  ASSERT_EQ(h.fit.history.size(), 4u);
  EXPECT_EQ(h.fit.history[1].validation->n, 60);  // scored up to the last rung, not after it
  EXPECT_FALSE(h.fit.history[2].validation.has_value());
  EXPECT_EQ(h.fit.best_epoch, 4);
  const auto hj = nlohmann::json::parse(h.to_json(c));
  EXPECT_EQ(hj.at("lr_search").at("held_out_joins_after_epoch").get<int64_t>(), 2);
  // Kernel SGD: the candidates share one set of fixed-batch inverses, and the final model is still exactly the
  // chosen rate's own run (which computes its inverses itself).
  auto ks = c;
  ks.data.validation_fraction = 0.2;
  ks.head.name = "softmax";
  ks.train.optimizer = "kernel-sgd";
  const auto k = rkhs::jobs::run_classify(ks);
  ks.lr_search = false;
  ks.train.lr = k.lr_search->chosen;
  const auto k_fixed = rkhs::jobs::run_classify(ks);
  EXPECT_EQ(k.fit.inverses, (480 + 127) / 128);
  EXPECT_NEAR(k.test.nll, k_fixed.test.nll, 1e-9);
  EXPECT_EQ(k.fit.best_epoch, k_fixed.fit.best_epoch);
  c.lr_search_factors = {1, -1};
  EXPECT_THROW(rkhs::jobs::run_classify(c), rkhs::Error);
}

// With the run's validation split the final model keeps its best validation epoch, tracked from the start of the
// survivor's run (also when it lies before a rung): the same model as the fixed run of the chosen pair, on several
// draws (seed 3 here has its best epoch at epoch 1, before the last rung at 4).
TEST(JobsClassify, SearchWithAValidationSplitKeepsTheSurvivorsBestEpoch) {
  for (uint64_t seed : {1, 2, 3}) {
    auto c = search_on_sphere(seed, 500, 8);
    c.train.lr = 0.1;  // the CLI's base rate and factors
    c.activation_search = true;
    const auto r = rkhs::jobs::run_classify(c);
    auto fixed = c;
    fixed.lr_search = fixed.activation_search = false;
    fixed.train.lr = r.lr_search->chosen;
    fixed.head.activation = r.lr_search->chosen_activation;
    const auto f = rkhs::jobs::run_classify(fixed);
    EXPECT_EQ(r.fit.best_epoch, f.fit.best_epoch) << "seed " << seed;
    EXPECT_NEAR(r.test.nll, f.test.nll, 1e-9) << "seed " << seed;
    EXPECT_NEAR(r.validation->accuracy, f.validation->accuracy, 1e-12) << "seed " << seed;
  }
}

// --resume after the search: the final model's checkpoint carries the search's record, so a run stopped after the
// last rung resumes without searching again and ends as the run that was not stopped (the hold-out joined in both);
// a checkpoint of a search over other candidates is refused.
TEST(JobsClassify, ResumeContinuesTheFinalModelWithoutSearchingAgain) {
  auto c = search_on_sphere(2, 600, 4);
  c.data.validation_fraction = 0;
  c.lr_search_factors = {4, 1, 0.25};
  const auto dir = temp_dir("resume_search");
  std::filesystem::create_directories(dir);
  c.train.checkpoint_path = dir + "/final.ckpt";
  const auto whole = rkhs::jobs::run_classify(c);
  std::filesystem::remove(c.train.checkpoint_path);
  auto stopped = c;
  stopped.train.on_epoch = [](const rkhs::train::EpochRecord& r) {
    if (r.epoch == 3) throw std::runtime_error("stopped after epoch 3");  // its checkpoint is written
  };
  EXPECT_THROW(rkhs::jobs::run_classify(stopped), std::runtime_error);
  auto resumed = c;
  resumed.train.resume = true;
  const auto r = rkhs::jobs::run_classify(resumed);
  ASSERT_TRUE(r.lr_search.has_value());
  EXPECT_TRUE(r.lr_search->from_checkpoint);
  EXPECT_FALSE(whole.lr_search->from_checkpoint);
  EXPECT_EQ(r.lr_search->chosen, whole.lr_search->chosen);
  EXPECT_EQ(r.lr_search->rungs, whole.lr_search->rungs);
  ASSERT_EQ(r.lr_search->candidates.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(r.lr_search->candidates[k].epochs, whole.lr_search->candidates[k].epochs);
    EXPECT_EQ(r.lr_search->candidates[k].validation_accuracy, whole.lr_search->candidates[k].validation_accuracy);
  }
  EXPECT_EQ(r.lr_search->held_out_joins_after, 2);
  EXPECT_EQ(r.fit.epochs_run, 1);
  EXPECT_EQ(r.fit.history.size(), 4u);
  EXPECT_EQ(r.trained_on, 600);
  EXPECT_NEAR(r.test.nll, whole.test.nll, 1e-9);
  auto split = resumed;  // the search held 10% out; a run with a validation split would not have
  split.data.validation_fraction = 0.2;
  try {
    rkhs::jobs::run_classify(split);
    ADD_FAILURE() << "resuming with a validation split did not throw";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("without a validation split"), std::string::npos) << e.what();
  }
  resumed.lr_search_factors = {4, 1};
  EXPECT_THROW(rkhs::jobs::run_classify(resumed), rkhs::Error);
  std::filesystem::remove_all(dir);
}

// A one-epoch run: every rung is the run's end, so each candidate trains its one epoch once and the survivor's run
// is the final model as it stands (it was trained again, once per rung and once more, before this was fixed).
TEST(JobsClassify, OneEpochSearchTrainsEachCandidateOnce) {
  auto c = search_on_sphere(5, 500, 1);
  c.lr_search_factors = {2, 1, 0.5, 0.25};
  const auto r = rkhs::jobs::run_classify(c);
  EXPECT_EQ(r.lr_search->rungs, (std::vector<int64_t>{1, 1}));
  auto fixed = c;
  fixed.lr_search = false;
  fixed.train.lr = r.lr_search->chosen;
  const auto f = rkhs::jobs::run_classify(fixed);
  ASSERT_EQ(r.fit.history.size(), 1u);
  EXPECT_NEAR(r.fit.history[0].train_loss, f.fit.history[0].train_loss, 1e-12);
  EXPECT_NEAR(r.test.nll, f.test.nll, 1e-9);
  c.data.validation_fraction = 0;  // with the hold-out: it never joins (the run ended at the last rung)
  const auto dir = temp_dir("one_epoch_search");
  std::filesystem::create_directories(dir);
  c.train.checkpoint_path = dir + "/final.ckpt";  // written although the run ended in the search
  const auto h = rkhs::jobs::run_classify(c);
  EXPECT_FALSE(h.lr_search->held_out_joins_after.has_value());
  EXPECT_EQ(h.trained_on, 450);
  EXPECT_EQ(h.fit.history.size(), 1u);
  ASSERT_TRUE(std::filesystem::exists(c.train.checkpoint_path));
  c.train.resume = true;  // the finished run: neither searched nor trained again
  const auto resumed = rkhs::jobs::run_classify(c);
  EXPECT_TRUE(resumed.lr_search->from_checkpoint);
  EXPECT_EQ(resumed.lr_search->chosen, h.lr_search->chosen);
  EXPECT_EQ(resumed.fit.epochs_run, 0);
  EXPECT_EQ(resumed.trained_on, 450);
  EXPECT_NEAR(resumed.test.nll, h.test.nll, 1e-9);
  std::filesystem::remove_all(dir);
}

// The kernelized head's search: every coefficient activation with every rate, halved the same way; the final head
// uses the chosen activation and is the run of the chosen pair. Other heads: rates only.
TEST(JobsClassify, ActivationSearchHalvesEveryActivationWithEveryRate) {
  auto c = search_on_sphere(4, 600, 4);
  c.activation_search = true;
  c.lr_search_factors = {2, 1};
  const auto r = rkhs::jobs::run_classify(c);
  ASSERT_TRUE(r.lr_search.has_value());
  const auto& s = *r.lr_search;
  ASSERT_EQ(s.candidates.size(), 6u);
  EXPECT_EQ(s.rungs, (std::vector<int64_t>{1, 1, 2}));  // 6 -> 3 -> 2 -> 1
  std::vector<rkhs::jobs::ClassifyResult> fixed_runs;
  for (size_t k = 0; k < 6; ++k) {
    EXPECT_EQ(s.candidates[k].activation, c.activation_candidates[k / 2]);
    EXPECT_DOUBLE_EQ(s.candidates[k].lr, c.train.lr * c.lr_search_factors[k % 2]);
    auto fixed = c;
    fixed.lr_search = fixed.activation_search = false;
    fixed.train.lr = s.candidates[k].lr;
    fixed.head.activation = s.candidates[k].activation;
    fixed_runs.push_back(rkhs::jobs::run_classify(fixed));
  }
  const size_t chosen = halving_by_hand(fixed_runs, s.rungs).first;
  EXPECT_EQ(s.chosen_activation, s.candidates[chosen].activation);
  EXPECT_EQ(s.chosen, s.candidates[chosen].lr);
  EXPECT_NE(r.head.find("act=" + s.chosen_activation), std::string::npos) << r.head;
  EXPECT_NEAR(r.test.accuracy, fixed_runs[chosen].test.accuracy, 1e-12);
  const auto j = nlohmann::json::parse(r.to_json(c));
  EXPECT_EQ(j.at("chosen").at("activation").get<std::string>(), s.chosen_activation);
  EXPECT_EQ(j.at("lr_search").at("activations").size(), 3u);
  EXPECT_EQ(j.at("config").at("activation").get<std::string>(), s.chosen_activation);
  // Other heads: no activation search.
  c.head.name = "softmax";
  const auto other = rkhs::jobs::run_classify(c);
  ASSERT_EQ(other.lr_search->candidates.size(), 2u);
  EXPECT_TRUE(other.lr_search->chosen_activation.empty());
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
