#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "rkhs/error.h"
#include "rkhs/core/checkpoint.h"
#include "rkhs/train/history.h"
#include "rkhs/train/optimizer.h"
#include "rkhs/core/state.h"
#include "rkhs/train/trainer.h"
#include "toy.h"

namespace fs = std::filesystem;
using rkhs::train::Trainer;
using rkhs::train::TrainOptions;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("rkhs_train_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

TrainOptions options(int64_t epochs) {
  TrainOptions o;
  o.optimizer = "momentum";
  o.lr = 0.1;
  o.epochs = epochs;
  o.batch_size = 16;
  o.warmup_epochs = 1;
  o.schedule = "cosine";
  o.progress = false;
  o.seed = 3;
  return o;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void expect_same_state(torch::nn::Module& a, torch::nn::Module& b, double tol) {
  auto sa = rkhs::core::named_state(a), sb = rkhs::core::named_state(b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_LE((sa[i].second - sb[i].second).abs().max().item<double>(), tol) << sa[i].first;
  }
}

}  // namespace

TEST(Checkpoint, AtomicWriteAndRoundTrip) {
  TempDir dir;
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 3);
  auto opt = rkhs::train::make_optimizer(*model, options(1));
  const auto path = (dir.path / "ck.pt").string();
  rkhs::core::save_checkpoint(path, *model, *opt, 7, R"({"hello": 1})", {{"extra/x", torch::arange(3)}});
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path)) names.push_back(e.path().filename().string());
  ASSERT_EQ(names, std::vector<std::string>{"ck.pt"});  // no .tmp.<pid> left behind

  torch::manual_seed(1);
  auto other = toy::linear_model(2, 3);
  auto opt2 = rkhs::train::make_optimizer(*other, options(1));
  auto info = rkhs::core::load_checkpoint(path, *other, *opt2);
  EXPECT_EQ(info.epoch, 7);
  EXPECT_EQ(info.meta_json, R"({"hello": 1})");
  ASSERT_EQ(info.extra.count("extra/x"), 1u);
  EXPECT_TRUE(torch::equal(info.extra["extra/x"], torch::arange(3)));
  expect_same_state(*model, *other, 0);
  EXPECT_EQ(rkhs::core::read_checkpoint_meta(path), R"({"hello": 1})");  // without a model
}

TEST(Checkpoint, MissingTruncatedAndWrongArchitecture) {
  TempDir dir;
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 3);
  auto opt = rkhs::train::make_optimizer(*model, options(1));
  const auto path = (dir.path / "ck.pt").string();
  EXPECT_THROW(rkhs::core::load_checkpoint(path, *model, *opt), rkhs::Error);
  rkhs::core::save_checkpoint(path, *model, *opt, 1, "{}");

  // The first half of the bytes.
  const auto truncated = (dir.path / "half.pt").string();
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(truncated, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto before = rkhs::core::copy_state(*model);
  EXPECT_THROW(rkhs::core::read_checkpoint_meta(truncated), rkhs::Error);
  EXPECT_THROW(rkhs::core::read_checkpoint_meta((dir.path / "missing.pt").string()), rkhs::Error);
  try {
    rkhs::core::load_checkpoint(truncated, *model, *opt);
    FAIL() << "no error for a truncated checkpoint";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt or truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(truncated), std::string::npos) << e.what();
  }
  // Garbage that is not a zip archive at all.
  {
    std::ofstream out(truncated, std::ios::binary);
    out << "definitely not a checkpoint";
  }
  EXPECT_THROW(rkhs::core::load_checkpoint(truncated, *model, *opt), rkhs::Error);

  // Another head width: names the parameter; the model is left unchanged.
  auto wide = toy::linear_model(2, 4);
  auto opt_wide = rkhs::train::make_optimizer(*wide, options(1));
  auto wide_before = rkhs::core::copy_state(*wide);
  try {
    rkhs::core::load_checkpoint(path, *wide, *opt_wide);
    FAIL() << "no error for another architecture";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("head.weight"), std::string::npos) << e.what();
  }
  for (const auto& [name, t] : rkhs::core::named_state(*wide)) EXPECT_TRUE(torch::equal(t, wide_before[name])) << name;

  // Another optimizer.
  auto adam = rkhs::train::make_optimizer(*model, [] { auto o = options(1); o.optimizer = "adam"; return o; }());
  EXPECT_THROW(rkhs::core::load_checkpoint(path, *model, *adam), rkhs::Error);
}

namespace {
struct Interrupt {};
}  // namespace

TEST(Checkpoint, ResumeGivesTheSameResultAsAnUninterruptedRun) {
  TempDir dir;
  auto data = toy::separable(100, 21);  // 7 batches of 16 per epoch, the last one partial
  auto val = toy::separable(60, 22);

  torch::manual_seed(3);
  auto full_model = toy::linear_model(2, 2, 0.01);
  auto full = Trainer(full_model, options(4)).fit(data, &val);

  // Same run, killed after the checkpoint of epoch 2 ...
  const auto ck = (dir.path / "run.ckpt").string();
  auto o = options(4);
  o.checkpoint_path = ck;
  o.on_epoch = [](const rkhs::train::EpochRecord& r) {
    if (r.epoch == 2) throw Interrupt{};
  };
  torch::manual_seed(3);
  auto first_model = toy::linear_model(2, 2, 0.01);
  EXPECT_THROW(Trainer(first_model, o).fit(data, &val), Interrupt);
  ASSERT_TRUE(fs::exists(ck));

  // ... and continued by a new process-like set-up (new model, new Trainer).
  o.on_epoch = nullptr;
  o.resume = true;
  torch::manual_seed(3);
  auto resumed_model = toy::linear_model(2, 2, 0.01);
  std::vector<int64_t> seen;
  o.on_epoch = [&seen](const rkhs::train::EpochRecord& r) { seen.push_back(r.epoch); };
  Trainer resumed_trainer(resumed_model, o);
  auto resumed = resumed_trainer.fit(data, &val);
  EXPECT_EQ(seen, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(resumed.epochs_run, 2);
  ASSERT_EQ(resumed.history.size(), 4u);
  EXPECT_EQ(resumed.best_epoch, full.best_epoch);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(resumed.history[i].epoch, full.history[i].epoch);
    EXPECT_NEAR(resumed.history[i].lr, full.history[i].lr, 1e-12);
    EXPECT_NEAR(resumed.history[i].train_loss, full.history[i].train_loss, 1e-6) << i;
    EXPECT_NEAR(resumed.history[i].train.nll, full.history[i].train.nll, 1e-6) << i;
    EXPECT_NEAR(resumed.history[i].validation->nll, full.history[i].validation->nll, 1e-6) << i;
    EXPECT_EQ(resumed.history[i].train.accuracy, full.history[i].train.accuracy) << i;
  }
  expect_same_state(*full_model, *resumed_model, 1e-6);

  // Resuming a finished run runs nothing and keeps the history.
  torch::manual_seed(3);
  auto again = Trainer(toy::linear_model(2, 2, 0.01), o).fit(data, &val);
  EXPECT_EQ(again.epochs_run, 0);
  EXPECT_EQ(again.history.size(), 4u);
  EXPECT_EQ(again.best_epoch, full.best_epoch);
}

// A run that fit_until ended without a checkpoint path (a search's survivor) writes, when asked afterwards, the
// checkpoint fit() writes after its last epoch: resuming either runs nothing and gives the same model and history.
TEST(Checkpoint, CheckpointOfAnEndedRunIsFitsOwn) {
  TempDir dir;
  auto data = toy::separable(100, 21);
  auto val = toy::separable(60, 22);
  auto o = options(3);
  o.checkpoint_path = (dir.path / "fit.ckpt").string();
  torch::manual_seed(3);
  Trainer whole(toy::linear_model(2, 2, 0.01), o);
  whole.fit(data, &val);
  EXPECT_THROW(whole.checkpoint_run(), rkhs::Error);  // fit() keeps nothing of its run

  auto parts_options = options(3);
  torch::manual_seed(3);
  Trainer parts(toy::linear_model(2, 2, 0.01), parts_options);
  EXPECT_THROW(parts.checkpoint_run(), rkhs::Error);  // no run yet
  parts.fit_until(data, &val, 3);
  EXPECT_THROW(parts.checkpoint_run(), rkhs::Error);  // no path yet
  parts_options.checkpoint_path = (dir.path / "ended.ckpt").string();
  parts.continue_with(parts_options);
  parts.checkpoint_run();
  ASSERT_TRUE(fs::exists(parts_options.checkpoint_path));

  std::vector<rkhs::train::TrainResult> resumed;
  std::vector<std::shared_ptr<rkhs::classify::ClassifierImpl>> models;
  for (const auto& path : {o.checkpoint_path, parts_options.checkpoint_path}) {
    auto r = options(3);
    r.checkpoint_path = path;
    r.resume = true;
    torch::manual_seed(11 + models.size());  // other initial weights: all must come from the file
    models.push_back(toy::linear_model(2, 2, 0.01));
    resumed.push_back(Trainer(models.back(), r).fit(data, &val));
  }
  for (const auto& r : resumed) {
    EXPECT_EQ(r.epochs_run, 0);
    ASSERT_EQ(r.history.size(), 3u);
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(resumed[0].history[i].train_loss, resumed[1].history[i].train_loss);
  EXPECT_EQ(resumed[0].best_epoch, resumed[1].best_epoch);
  expect_same_state(*models[0], *models[1], 0);
}

// A paused run's checkpoint (a search's survivor, written before the final model's first epoch): resuming it goes on
// as the paused run does, on the training set continue_on gave it, and with the run's own random state although
// other runs drew from the global one in between (the head's training noise draws from it).
TEST(Checkpoint, CheckpointOfAPausedRunResumesAsTheRunGoesOn) {
  TempDir dir;
  auto part = toy::separable(90, 31);
  auto all = toy::separable(100, 32);
  auto o = options(4);
  const auto noisy_model = [] {
    return std::make_shared<rkhs::classify::ClassifierImpl>(std::make_shared<toy::IdentityBackbone>(2),
                                                            std::make_shared<toy::NoisyHead>(2, 2));
  };
  torch::manual_seed(3);
  auto model = noisy_model();
  Trainer paused(model, o);
  paused.fit_until(part, nullptr, 2);
  torch::randn({100});  // another candidate's run
  o.checkpoint_path = (dir.path / "final.ckpt").string();
  paused.continue_with(o);
  paused.continue_on(all, nullptr);
  paused.checkpoint_run();
  const auto at_pause = dir.path / "at_pause.ckpt";
  fs::copy_file(o.checkpoint_path, at_pause);  // fit() below writes its own epochs over the file
  EXPECT_NE(rkhs::core::read_checkpoint_meta(at_pause.string()).find("\"train_examples\":100"), std::string::npos);
  torch::randn({100});
  const auto goes_on = paused.fit(all, nullptr);

  auto r = options(4);
  r.checkpoint_path = at_pause.string();
  r.resume = true;
  torch::manual_seed(12);  // other initial weights and random state: all must come from the file
  auto resumed_model = noisy_model();
  const auto resumed = Trainer(resumed_model, r).fit(all, nullptr);
  EXPECT_EQ(resumed.epochs_run, 2);
  ASSERT_EQ(resumed.history.size(), 4u);
  ASSERT_EQ(goes_on.history.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(resumed.history[i].train_loss, goes_on.history[i].train_loss) << i;
  expect_same_state(*model, *resumed_model, 0);
}

// The divergence guard's lowered rate and its restarts so far are part of the checkpoint: a resumed run continues at
// the lowered rate (not the configured one) and matches the uninterrupted run.
TEST(Checkpoint, ResumeKeepsTheDivergenceGuardsLoweredRate) {
  TempDir dir;
  auto data = toy::separable(200, 3);
  auto make = [] {
    torch::manual_seed(0);
    return std::make_shared<rkhs::classify::ClassifierImpl>(std::make_shared<toy::IdentityBackbone>(2),
                                                            std::make_shared<toy::BlowUpHead>(2, 2, 20.0));
  };
  auto o = toy::quiet("sgd", 1e4, 4);
  o.schedule = "constant";
  o.max_restarts = 6;
  auto full_model = make();
  const auto full = Trainer(full_model, o).fit(data);
  ASSERT_GE(full.restarts, 1);

  o.checkpoint_path = (dir.path / "guard.ckpt").string();
  o.on_epoch = [](const rkhs::train::EpochRecord& r) {
    if (r.epoch == 2) throw Interrupt{};
  };
  EXPECT_THROW(Trainer(make(), o).fit(data), Interrupt);
  o.on_epoch = nullptr;
  o.resume = true;
  auto resumed_model = make();
  const auto resumed = Trainer(resumed_model, o).fit(data);
  EXPECT_EQ(resumed.epochs_run, 2);
  EXPECT_EQ(resumed.restarts, full.restarts);
  EXPECT_DOUBLE_EQ(resumed.lr_factor, full.lr_factor);
  ASSERT_EQ(resumed.history.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(resumed.history[i].lr, full.history[i].lr, 1e-9) << i;
  expect_same_state(*full_model, *resumed_model, 1e-5);
}

// Writes a one-epoch checkpoint of a 2-class linear model on data into dir and returns the options that resume it
// for a second epoch.
TrainOptions one_epoch_then_resume(const TempDir& dir, const rkhs::data::Dataset& data) {
  auto o = options(1);
  o.checkpoint_path = (dir.path / "c.ckpt").string();
  Trainer(toy::linear_model(2, 2), o).fit(data);
  o.resume = true;
  o.epochs = 2;
  return o;
}

TEST(Checkpoint, ResumeIntoAnotherArchitectureFails) {
  TempDir dir;
  auto data = toy::separable(40, 1);
  auto o = one_epoch_then_resume(dir, data);
  rkhs::data::Dataset d3 = data;
  d3.num_classes = 3;
  EXPECT_THROW(Trainer(toy::linear_model(2, 3), o).fit(d3), rkhs::Error);
}

TEST(Checkpoint, ResumeWithAnotherSeedOrBatchSizeFailsNamingBoth) {
  TempDir dir;
  auto data = toy::separable(40, 1);
  auto o = one_epoch_then_resume(dir, data);
  auto other_seed = o;
  other_seed.seed = o.seed + 1;
  try {
    Trainer(toy::linear_model(2, 2), other_seed).fit(data);
    FAIL() << "no error";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("seed " + std::to_string(o.seed)), std::string::npos) << e.what();
  }
  auto other_batch = o;
  other_batch.batch_size = o.batch_size + 1;
  EXPECT_THROW(Trainer(toy::linear_model(2, 2), other_batch).fit(data), rkhs::Error);
  auto other_lr = o;
  other_lr.lr = o.lr * 2;
  EXPECT_THROW(Trainer(toy::linear_model(2, 2), other_lr).fit(data), rkhs::Error);
  EXPECT_THROW(Trainer(toy::linear_model(2, 2), o).fit(toy::separable(30, 1)), rkhs::Error);  // other data size
  {
    auto o3 = o;
    o3.epochs = 3;
    Trainer(toy::linear_model(2, 2), o3).fit(data);  // the checkpoint now has 3 epochs
  }
  try {
    Trainer(toy::linear_model(2, 2), o).fit(data);  // asks for 2
    FAIL() << "no error";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the 2 asked for"), std::string::npos) << e.what();
  }
  auto o4 = o;
  o4.epochs = 4;
  EXPECT_NO_THROW(Trainer(toy::linear_model(2, 2), o4).fit(data));  // the same settings resume
}

TEST(Checkpoint, HistoryJsonRoundTrip) {
  rkhs::train::EpochRecord r;
  r.epoch = 3;
  r.lr = 0.1 / 3;
  r.train_loss = 1.0 / 7;
  r.train = {0.123456789012345678, 0.5, 0.01, 10};
  r.validation = rkhs::train::Metrics{0.9, 0.2, 0.03, 5};
  r.seconds = 1.5;
  rkhs::train::EpochRecord s = r;
  s.validation.reset();
  auto back = rkhs::train::history_from_json(rkhs::train::history_to_json({r, s}));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].lr, r.lr);
  EXPECT_EQ(back[0].train_loss, r.train_loss);
  EXPECT_EQ(back[0].train.accuracy, r.train.accuracy);
  EXPECT_EQ(back[0].validation->n, 5);
  EXPECT_FALSE(back[1].validation.has_value());
  EXPECT_THROW(rkhs::train::history_from_json("{nope"), rkhs::Error);
}

// Optimizer state (Adam moments, L-BFGS history) survives the checkpoint: resumed == uninterrupted.
class ResumePerOptimizer : public ::testing::TestWithParam<std::string> {};

TEST_P(ResumePerOptimizer, SameFinalWeights) {
  TempDir dir;
  auto data = toy::separable(64, 31);
  auto o = options(3);
  o.optimizer = GetParam();
  o.lr = GetParam() == "lbfgs" ? 0.5 : 0.02;
  o.batch_size = GetParam() == "lbfgs" ? 32 : 16;
  o.weight_decay = 1e-3;
  o.kernel_sgd.kernel = "rbf:gamma=1";
  torch::manual_seed(5);
  auto full_model = toy::linear_model(2, 2, 0.05);
  auto full = Trainer(full_model, o).fit(data);

  o.checkpoint_path = (dir.path / "r.ckpt").string();
  o.on_epoch = [](const rkhs::train::EpochRecord& r) {
    if (r.epoch == 1) throw Interrupt{};
  };
  torch::manual_seed(5);
  EXPECT_THROW(Trainer(toy::linear_model(2, 2, 0.05), o).fit(data), Interrupt);
  o.on_epoch = nullptr;
  o.resume = true;
  torch::manual_seed(99);  // the checkpoint overrides the initial weights anyway
  auto resumed_model = toy::linear_model(2, 2, 0.05);
  auto resumed = Trainer(resumed_model, o).fit(data);
  EXPECT_EQ(resumed.epochs_run, 2);
  ASSERT_EQ(resumed.history.size(), 3u);
  EXPECT_NEAR(resumed.history.back().train_loss, full.history.back().train_loss, 1e-6);
  expect_same_state(*full_model, *resumed_model, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, ResumePerOptimizer, ::testing::Values("sgd", "adam", "adamw", "lbfgs", "esgd",
                                                                             "adahessian", "kernel-sgd"));

TEST(Checkpoint, ArchiveWithoutFormatTagIsRejected) {
  TempDir dir;
  const auto path = (dir.path / "foreign.pt").string();
  torch::serialize::OutputArchive a;
  a.write("weights", torch::ones({2}));
  a.save_to(path);
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 2);
  auto opt = rkhs::train::make_optimizer(*model, options(1));
  try {  // a bare LibTorch archive (what version 1 wrote) is named as such
    rkhs::core::load_checkpoint(path, *model, *opt);
    FAIL();
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bare LibTorch archive"), std::string::npos) << e.what();
  }
  // The same archive in a valid envelope built here from the documented layout (RKHSCKPT, version, size,
  // CRC-32, little-endian): the envelope passes, the missing format tag inside is reported.
  std::string payload = read_bytes(path);
  std::string file = "RKHSCKPT";
  auto put = [&file](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) file.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  put(rkhs::core::kCheckpointVersion, 4);
  put(payload.size(), 8);
  put(crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())), 4);
  write_bytes(path, file + payload);
  try {
    rkhs::core::load_checkpoint(path, *model, *opt);
    FAIL();
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an rkhs checkpoint (no format tag"), std::string::npos) << e.what();
  }
}

// Any single changed byte and any truncation of a real checkpoint is rejected with an rkhs::Error naming the file,
// before the model or the optimizer is touched.
TEST(Checkpoint, EveryFlippedByteAndEveryTruncationIsRejected) {
  TempDir dir;
  torch::manual_seed(0);
  auto model = toy::linear_model(2, 3);
  auto opt = rkhs::train::make_optimizer(*model, options(1));
  const auto path = (dir.path / "ck.pt").string();
  rkhs::core::save_checkpoint(path, *model, *opt, 1, "{}");
  const std::string good = read_bytes(path);
  ASSERT_GT(good.size(), 24u);
  const auto before = rkhs::core::copy_state(*model);
  const auto bad = (dir.path / "bad.pt").string();
  auto expect_rejected = [&](const std::string& bytes, const std::string& what) {
    write_bytes(bad, bytes);
    try {
      rkhs::core::load_checkpoint(bad, *model, *opt);
      ADD_FAILURE() << what << " was accepted";
    } catch (const rkhs::Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << what << ": " << e.what();
    }
  };
  for (size_t i = 0; i < good.size(); ++i) {
    std::string b = good;
    b[i] = static_cast<char>(b[i] ^ (1 << (i % 8)));
    expect_rejected(b, "a flipped bit in byte " + std::to_string(i));
  }
  for (size_t n = 0; n < good.size(); n += 1 + n / 16) expect_rejected(good.substr(0, n), "a prefix of " + std::to_string(n) + " bytes");
  expect_rejected(good + "x", "a trailing byte");
  for (const auto& [name, t] : rkhs::core::named_state(*model)) EXPECT_TRUE(torch::equal(t, before.at(name))) << name;
  write_bytes(bad, good);
  EXPECT_NO_THROW(rkhs::core::load_checkpoint(bad, *model, *opt));
}
