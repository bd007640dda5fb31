// rkhs demo: the main job. The same backbone trained with a softmax head and with the kernelized
// classification layer (paper 000), printed side by side, with a plot of both learning curves.
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "rkhs/compat.h"
#include "rkhs/error.h"
#include "rkhs/data/idx.h"
#include "rkhs/jobs/classify_job.h"

namespace rkhs::cli {
namespace {

struct DemoFlags {
  CommonFlags common;
  int64_t epochs = 8;
  int64_t train_size = 30000;
  std::string model = "lenet5";
  std::string data;  // "" = fashion-mnist when installed, else sphere
  bool train_size_given = false, model_given = false;
};

void run(DemoFlags& f) {
  const bool progress = setup_runtime(f.common);
  const std::string out = f.common.out.empty() ? "runs/demo" : f.common.out;
  std::filesystem::create_directories(out);
  std::string data = f.data;
  if (data.empty()) data = data::fashion_mnist_available() ? "fashion-mnist" : "sphere";
  const bool sphere = data == "sphere";
  RKHS_CHECK(data == "sphere" || data == "fashion-mnist", "--data must be fashion-mnist or sphere, got '" + data + "'");
  // The sphere data have their own backbone (identity on S^2): a backbone for images cannot act there.
  RKHS_CHECK(!sphere || !f.model_given, "--model applies to the Fashion-MNIST demo only (this run uses the sphere "
                                        "data, whose backbone is the identity)");
  if (!f.common.json)
    std::cout << "rkhs demo: softmax head vs kernelized classification layer on " << data
              << (sphere ? " (Fashion-MNIST is not installed; scripts/setup.sh installs it)" : "") << "\n";

  std::vector<std::pair<std::string, jobs::ClassifyResult>> runs;
  jobs::ClassifyConfig base;
  for (const std::string head : {"softmax", "kernelized"}) {
    jobs::ClassifyConfig c;
    c.data.spec = data;
    c.data.seed = f.common.seed;
    c.data.train_size = sphere && !f.train_size_given ? 0 : f.train_size;  // sphere: 10,000 points unless given
    c.data.validation_fraction = 0.1;
    c.backbone.name = sphere ? "identity" : f.model;
    c.head.name = head;
    c.train.seed = f.common.seed;
    c.train.device = compat::parse_device(f.common.device);
    c.train.epochs = f.epochs;
    c.train.progress = progress;
    c.train.optimizer = "momentum";
    c.train.lr = sphere ? 0.5 : 0.05;
    c.train.max_restarts = 3;  // the demo's rates are defaults too: a divergence lowers them (issue 26)
    c.train.schedule = "cosine";
    c.train.warmup_epochs = 1;
    c.out_dir = out + "/" + head;
    if (!f.common.json) std::cout << "training " << head << " ...\n" << std::flush;
    runs.emplace_back(head, jobs::run_classify(c));
    base = c;
  }

  const auto& a = runs[0].second;
  const auto& b = runs[1].second;
  if (!f.common.json) {
    std::cout << std::fixed << std::setprecision(4) << "\n"
              << "data: " << a.data_description << "\n"
              << "                  " << std::setw(14) << "softmax" << std::setw(14) << "kernelized" << "\n"
              << "parameters        " << std::setw(14) << a.parameters << std::setw(14) << b.parameters << "\n"
              << "train accuracy    " << std::setw(14) << a.train.accuracy << std::setw(14) << b.train.accuracy << "\n"
              << "val accuracy      " << std::setw(14) << a.validation->accuracy << std::setw(14) << b.validation->accuracy << "\n"
              << "test accuracy     " << std::setw(14) << a.test.accuracy << std::setw(14) << b.test.accuracy << "\n"
              << "test NLL          " << std::setw(14) << a.test.nll << std::setw(14) << b.test.nll << "\n"
              << "test ECE          " << std::setw(14) << a.test.ece << std::setw(14) << b.test.ece << "\n"
              << std::setprecision(1)
              << "train seconds     " << std::setw(14) << a.fit.train_seconds << std::setw(14) << b.fit.train_seconds << "\n";
    if (a.bayes_accuracy) std::cout << "bayes accuracy    " << std::setprecision(4) << *a.bayes_accuracy << "\n";
  }
  const std::string script =
      "set datafile separator ','\nset xlabel 'epoch'\nset ylabel 'validation accuracy'\nset grid\nset key bottom right\n"
      "set title 'rkhs demo: " + data + ", " + base.backbone.name + " backbone'\n"
      "plot '" + out + "/softmax/metrics.csv' using 1:7 with linespoints title 'softmax', '" + out +
      "/kernelized/metrics.csv' using 1:7 with linespoints title 'kernelized (KCL)'\n";
  const auto png = run_gnuplot(out, "learning_curves", script);
  if (!f.common.json) {
    if (!png.empty()) std::cout << "plot: " << png << "\n";
    std::cout << "runs: " << out << "/softmax, " << out << "/kernelized\n";
  } else {
    nlohmann::json j;
    j["command"] = "demo";
    j["data"] = data;
    j["model"] = base.backbone.name;
    j["softmax"] = nlohmann::json::parse(a.to_json(base));
    j["kernelized"] = nlohmann::json::parse(b.to_json(base));
    j["plot"] = png;
    std::cout << j.dump() << std::endl;
  }
}

}  // namespace

void register_demo(CLI::App& app) {
  auto f = std::make_shared<DemoFlags>();
  auto* cmd = app.add_subcommand("demo", "The main job: softmax vs the kernelized classification layer on the same "
                                         "backbone (Fashion-MNIST, or the sphere data when it is absent), side by "
                                         "side, with a learning-curve plot (under 5 minutes on 2 cores), in --out "
                                         "(default runs/demo)");
  add_common_flags(*cmd, f->common);
  cmd->add_option("--epochs", f->epochs, "Epochs per head")->capture_default_str();
  auto* train_size = cmd->add_option("--train-size", f->train_size,
                                     "Training examples before the 10% validation split: Fashion-MNIST images "
                                     "(stratified subset; default 30000, so 27000 train) or sphere points (default "
                                     "10000)")->capture_default_str();
  auto* model = cmd->add_option("--model", f->model, "Backbone for image data (Fashion-MNIST only)")->capture_default_str();
  cmd->add_option("--data", f->data, "fashion-mnist or sphere (default: fashion-mnist when installed)");
  cmd->callback([f, train_size, model] {
    f->train_size_given = train_size->count() > 0;
    f->model_given = model->count() > 0;
    run(*f);
  });
}

}  // namespace rkhs::cli
