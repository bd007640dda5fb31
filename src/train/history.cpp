#include "rkhs/train/history.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "rkhs/error.h"

namespace rkhs::train {

namespace {
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}
}  // namespace

std::string history_to_json(const std::vector<EpochRecord>& history) {
  auto metrics = [](const Metrics& m) {
    return nlohmann::json{{"accuracy", m.accuracy}, {"nll", m.nll}, {"ece", m.ece}, {"n", m.n}};
  };
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : history) {
    nlohmann::json j{{"epoch", r.epoch}, {"lr", r.lr}, {"train_loss", r.train_loss}, {"train", metrics(r.train)},
                     {"seconds", r.seconds}};
    j["validation"] = r.validation ? metrics(*r.validation) : nlohmann::json(nullptr);
    arr.push_back(j);
  }
  return arr.dump();
}

std::vector<EpochRecord> history_from_json(const std::string& text) {
  std::vector<EpochRecord> out;
  try {
    auto arr = nlohmann::json::parse(text);
    RKHS_CHECK(arr.is_array(), "epoch history is not a JSON array");
    auto metrics = [](const nlohmann::json& j) {
      Metrics m;
      m.accuracy = j.at("accuracy").get<double>();
      m.nll = j.at("nll").get<double>();
      m.ece = j.at("ece").get<double>();
      m.n = j.at("n").get<int64_t>();
      return m;
    };
    for (const auto& j : arr) {
      EpochRecord r;
      r.epoch = j.at("epoch").get<int64_t>();
      r.lr = j.at("lr").get<double>();
      r.train_loss = j.at("train_loss").get<double>();
      r.train = metrics(j.at("train"));
      r.seconds = j.at("seconds").get<double>();
      if (j.contains("validation") && !j["validation"].is_null()) r.validation = metrics(j["validation"]);
      out.push_back(r);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("epoch history JSON is invalid: ") + e.what());
  }
  return out;
}

std::string metrics_csv_header() {
  return "epoch,lr,train_loss,train_accuracy,train_nll,train_ece,val_accuracy,val_nll,val_ece,seconds";
}

std::string metrics_csv_row(const EpochRecord& r) {
  std::string s = std::to_string(r.epoch) + "," + num(r.lr) + "," + num(r.train_loss) + "," + num(r.train.accuracy) +
                  "," + num(r.train.nll) + "," + num(r.train.ece) + ",";
  if (r.validation)
    s += num(r.validation->accuracy) + "," + num(r.validation->nll) + "," + num(r.validation->ece) + ",";
  else
    s += ",,,";
  return s + num(r.seconds);
}

void append_epoch(core::RunFolder& folder, const EpochRecord& record) {
  folder.append_csv("metrics.csv", metrics_csv_header(), metrics_csv_row(record));
}

}  // namespace rkhs::train
