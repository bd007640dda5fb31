#include "rkhs/train/checkpoint.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <typeinfo>

#include "rkhs/error.h"
#include "rkhs/optim/optimizer_base.h"
#include "rkhs/train/state.h"

namespace rkhs::train {

namespace {

c10::Dict<std::string, at::Tensor> to_dict(const std::vector<std::pair<std::string, at::Tensor>>& items) {
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& [name, t] : items) d.insert(name, t.detach());
  return d;
}

std::map<std::string, at::Tensor> from_dict(const c10::IValue& v, const std::string& what) {
  RKHS_CHECK(v.isGenericDict(), what + " is not a {name: tensor} dict");
  std::map<std::string, at::Tensor> out;
  for (const auto& e : v.toGenericDict()) {
    RKHS_CHECK(e.key().isString() && e.value().isTensor(), what + " is not a {name: tensor} dict");
    out[e.key().toStringRef()] = e.value().toTensor();
  }
  return out;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// A compiler-independent name of the optimizer's class (typeid names differ between toolchains).
std::string optimizer_kind(torch::optim::Optimizer& opt) {
  if (auto* own = dynamic_cast<optim::OptimizerBase*>(&opt)) return own->kind();
  if (dynamic_cast<torch::optim::SGD*>(&opt)) return "SGD";
  if (dynamic_cast<torch::optim::AdamW*>(&opt)) return "AdamW";
  if (dynamic_cast<torch::optim::Adam*>(&opt)) return "Adam";
  if (dynamic_cast<torch::optim::LBFGS*>(&opt)) return "LBFGS";
  if (dynamic_cast<torch::optim::RMSprop*>(&opt)) return "RMSprop";
  if (dynamic_cast<torch::optim::Adagrad*>(&opt)) return "Adagrad";
  return typeid(opt).name();
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& opt,
                     int64_t epoch, const std::string& meta_json, const std::map<std::string, at::Tensor>& extra) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("version", c10::IValue(kCheckpointVersion));
  archive.write("epoch", c10::IValue(epoch));
  archive.write("meta", c10::IValue(meta_json));
  archive.write("optimizer_type", c10::IValue(optimizer_kind(opt)));
  archive.write("model", c10::IValue(to_dict(named_state(model))));
  archive.write("extra", c10::IValue(to_dict({extra.begin(), extra.end()})));
  torch::serialize::OutputArchive opt_archive;
  opt.save(opt_archive);
  archive.write("optimizer", opt_archive);
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t n) -> size_t {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  write_file_atomic(path, bytes);
}

CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& opt) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("checkpoint " + path + " does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open checkpoint " + path + ": " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  c10::Device device(torch::kCPU);
  for (const auto& p : model.parameters(true)) {
    device = p.device();
    break;
  }

  torch::serialize::InputArchive archive;
  torch::serialize::InputArchive opt_archive;
  CheckpointInfo info;
  std::map<std::string, at::Tensor> state;
  std::string opt_type;
  try {
    archive.load_from(bytes.data(), bytes.size(), device);
    c10::IValue v;
    if (!archive.try_read("format", v) || !v.isString() || v.toStringRef() != kCheckpointFormat)
      throw Error("checkpoint " + path + " is not an rkhs checkpoint (no format tag '" + kCheckpointFormat + "')");
    archive.read("version", v);
    if (!v.isInt() || v.toInt() != kCheckpointVersion)
      throw Error("checkpoint " + path + " has format version " + (v.isInt() ? std::to_string(v.toInt()) : "?") +
                  ", this build reads version " + std::to_string(kCheckpointVersion));
    archive.read("epoch", v);
    info.epoch = v.toInt();
    archive.read("meta", v);
    info.meta_json = v.toStringRef();
    archive.read("optimizer_type", v);
    opt_type = v.toStringRef();
    archive.read("model", v);
    state = from_dict(v, "checkpoint " + path + ": model state");
    archive.read("extra", v);
    info.extra = from_dict(v, "checkpoint " + path + ": extra state");
    archive.read("optimizer", opt_archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // c10::Error from the zip reader or the unpickler
    throw Error("checkpoint " + path + " is corrupt or truncated: " + first_line(e.what()));
  }
  check_state(model, state, "checkpoint " + path);
  if (opt_type != optimizer_kind(opt))
    throw Error("checkpoint " + path + " holds the state of another optimizer (" + opt_type + ", this run uses " +
                optimizer_kind(opt) + ")");
  try {
    opt.load(opt_archive);
  } catch (const std::exception& e) {
    throw Error("checkpoint " + path + ": optimizer state does not match the model: " + first_line(e.what()));
  }
  assign_state(model, state, "checkpoint " + path);
  return info;
}

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

}  // namespace rkhs::train
