#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rkhs/error.h"
#include "rkhs/core/progress.h"
#include "rkhs/core/run_folder.h"
#include "rkhs/train/history.h"
#include "rkhs/core/state.h"
#include "toy.h"

namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(RunFolder, WritesCsvTextAndModel) {
  const auto dir = fs::temp_directory_path() / ("rkhs_run_folder_" + std::to_string(::getpid())) / "nested";
  fs::remove_all(dir.parent_path());
  rkhs::core::RunFolder run(dir.string());
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(run.path(), dir.string());

  rkhs::train::EpochRecord r;
  r.epoch = 1;
  r.lr = 0.05;
  r.train_loss = 0.5;
  r.train = {0.75, 0.6, 0.1, 4};
  r.seconds = 2;
  rkhs::train::append_epoch(run, r);
  r.epoch = 2;
  r.validation = rkhs::train::Metrics{0.5, 0.7, 0.2, 2};
  rkhs::train::append_epoch(run, r);
  EXPECT_EQ(slurp(dir / "metrics.csv"),
            "epoch,lr,train_loss,train_accuracy,train_nll,train_ece,val_accuracy,val_nll,val_ece,seconds\n"
            "1,0.05,0.5,0.75,0.6,0.1,,,,2\n"
            "2,0.05,0.5,0.75,0.6,0.1,0.5,0.7,0.2,2\n");

  run.write_text("config.json", "{\"a\": 1}\n");
  run.write_text("config.json", "{\"a\": 2}\n");
  EXPECT_EQ(slurp(dir / "config.json"), "{\"a\": 2}\n");

  torch::manual_seed(0);
  auto model = toy::linear_model(2, 3);
  run.save_model(*model, "{\"head\": \"linear\"}");
  EXPECT_EQ(slurp(dir / "model.json"), "{\"head\": \"linear\"}");
  torch::manual_seed(1);
  auto other = toy::linear_model(2, 3);
  rkhs::core::load_weights((dir / "model.pt").string(), *other);
  for (const auto& [name, t] : rkhs::core::named_state(*model)) {
    bool found = false;
    for (const auto& [n2, t2] : rkhs::core::named_state(*other))
      if (n2 == name) found = torch::equal(t, t2);
    EXPECT_TRUE(found) << name;
  }
  auto wrong = toy::linear_model(3, 3);
  EXPECT_THROW(rkhs::core::load_weights((dir / "model.pt").string(), *wrong), rkhs::Error);
  EXPECT_THROW(rkhs::core::load_weights((dir / "nope.pt").string(), *wrong), rkhs::Error);

  // Every flipped bit and every truncation of a real model.pt either is an rkhs::Error or loads exactly the saved
  // weights (a flip in metadata the zip reader does not use, such as a local header's time stamp, is harmless);
  // the zip check runs before LibTorch's reader and the CRC-32s cover every entry's data.
  const std::string good = slurp(dir / "model.pt");
  const auto bad = (dir / "bad.pt").string();
  int rejected = 0;
  auto expect_rejected = [&](const std::string& bytes, const std::string& what) {
    {
      std::ofstream out(bad, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    torch::manual_seed(2);
    auto loaded = toy::linear_model(2, 3);
    try {
      rkhs::core::load_weights(bad, *loaded);
    } catch (const rkhs::Error& e) {
      ++rejected;
      return;
    }
    for (const auto& [name, t] : rkhs::core::named_state(*model)) {
      bool same = false;
      for (const auto& [n2, t2] : rkhs::core::named_state(*loaded))
        if (n2 == name) same = torch::equal(t, t2);
      EXPECT_TRUE(same) << what << " was accepted with other weights (" << name << ")";
    }
  };
  for (size_t i = 0; i < good.size(); ++i) {
    std::string b = good;
    b[i] = static_cast<char>(b[i] ^ (1 << (i % 8)));
    expect_rejected(b, "a flipped bit in byte " + std::to_string(i));
  }
  for (size_t n = 0; n < good.size(); n += 7) expect_rejected(good.substr(0, n), "a prefix of " + std::to_string(n));
  EXPECT_GT(rejected, static_cast<int>(good.size() / 2)) << "most damage must be detected";
  // fuzz/fuzz_weights' finding: an archive whose ZIP64 end record points outside the file made LibTorch 1.13's
  // zip reader read past its buffer (ASan: heap-buffer-overflow in mz_zip_reader_init).
  try {
    rkhs::core::load_weights(std::string(RKHS_FIXTURES) + "/weights_zip_overflow.pt", *other);
    ADD_FAILURE() << "weights_zip_overflow.pt was accepted";
  } catch (const rkhs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt or truncated"), std::string::npos) << e.what();
  }
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  fs::remove_all(dir.parent_path());
}

TEST(Progress, PlainLineAtTheEndWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    rkhs::core::Progress p("epoch 1/2", 10, true, f, /*interactive=*/false);
    for (int i = 1; i <= 10; ++i) p.update(i, "loss 0.5");
    p.finish();
    p.finish();  // idempotent
  }
  std::rewind(f);
  char buf[512] = {0};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  EXPECT_EQ(s.find('\r'), std::string::npos) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1) << s;
  EXPECT_EQ(s.rfind("epoch 1/2  10/10  loss 0.5", 0), 0u) << s;
}

TEST(Progress, RedrawsOnATerminalAndCanBeDisabled) {
  std::FILE* f = std::tmpfile();
  {
    rkhs::core::Progress p("train", 1000, true, f, /*interactive=*/true);
    for (int i = 1; i <= 1000; ++i) p.update(i, "x");
    p.finish();
  }
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  const auto redraws = std::count(s.begin(), s.end(), '\r');
  EXPECT_GE(redraws, 2);   // the first update and the final state
  EXPECT_LT(redraws, 50);  // throttled to ~10 per second, not 1000
  EXPECT_EQ(s.back(), '\n');
  EXPECT_NE(s.find("1000/1000"), std::string::npos);

  std::FILE* g = std::tmpfile();
  {
    rkhs::core::Progress p("off", 10, false, g, true);
    p.update(5);
    p.finish();
  }
  EXPECT_EQ(std::ftell(g), 0);
  std::fclose(g);
  EXPECT_EQ(rkhs::core::format_duration(65), "1:05");
  EXPECT_EQ(rkhs::core::format_duration(3723), "1:02:03");
  EXPECT_EQ(rkhs::core::format_duration(-1), "?");
}
