// rkhs embed: the extensible 2-D embedding of paper 004 §3.3 (kernelNet layer on a grid, eq. 9-10).
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <memory>

#include "cli.h"
#include "rkhs/error.h"
#include "rkhs/jobs/embed_job.h"

namespace rkhs::cli {

namespace {

struct EmbedFlags {
  CommonFlags common;
  jobs::EmbedConfig config;
};

void run(EmbedFlags& f) {
  const bool progress = setup_runtime(f.common, /*data_parallel=*/true);
  auto& c = f.config;
  c.seed = f.common.seed;
  c.data.seed = f.common.seed;
  c.progress = progress;
  c.out_dir = f.common.out;
  c.device = f.common.device;
  auto r = jobs::run_embed(c);
  if (!writes_outputs()) return;  // rank 0 reports for the world
  const std::string script =
      "set datafile separator ','\nset key off\nset size square\nset xrange [0:1]\nset yrange [0:1]\n"
      "set palette defined (0 '#1f77b4', 1 '#ff7f0e', 2 '#2ca02c', 3 '#d62728', 4 '#9467bd', 5 '#8c564b', "
      "6 '#e377c2', 7 '#7f7f7f', 8 '#bcbd22', 9 '#17becf')\nset palette maxcolors 10\nset cbrange [-0.5:9.5]\n"
      "set cbtics 0,1,9\nset title 'kernelNet 2-D embedding of the test set (colour: class)'\n"
      "plot '" + c.out_dir + "/embedding.csv' every ::1 using 1:2:3 with points pt 7 ps 0.25 lc palette\n";
  const auto png = run_gnuplot(c.out_dir, "embedding", script);
  if (!f.common.json || isatty(STDOUT_FILENO)) {
    std::cout << std::fixed << std::setprecision(4) << "data            " << r.description << "\n"
              << (c.net.objective == "autoencoder"
                      ? "reconstruction  cross-entropy " + std::to_string(r.test_reconstruction_bce) +
                            " per image, MSE " + std::to_string(r.test_reconstruction_mse) + " (test)\n"
                      : "test accuracy   " + std::to_string(r.test_accuracy) + " (the network)\n")
              << "5-NN accuracy   " << r.knn_accuracy << " (in the 2-D embedding)\n"
              << "empty rows      " << r.empty_test << "\n"
              << std::setprecision(1) << "time            " << r.train_seconds << " s\n"
              << "embedding       " << r.csv_path << "\n";
    if (!png.empty()) std::cout << "plot            " << png << "\n";
  }
  if (f.common.json) std::cout << r.to_json(c) << std::endl;
}

}  // namespace

void register_embed(CLI::App& app) {
  auto f = std::make_shared<EmbedFlags>();
  auto& c = f->config;
  c.data.spec = "fashion-mnist";
  auto* cmd = app.add_subcommand("embed",
                                 "Train a classifier or autoencoder with a 2-D RBF kernelNet layer on a grid (paper 004 §3.3) and "
                                 "write the 2-D embedding of the test set (centre of mass, eq. 10) and its plot; "
                                 "needs --out DIR");
  add_common_flags(*cmd, f->common);
  cmd->add_option("--data", c.data.spec, "fashion-mnist | csv:PATH | libsvm:PATH | idx:IMAGES,LABELS | moons | ...")
      ->capture_default_str()->group("Data");
  cmd->add_option("--test", c.data.test_spec, "Separate test file")->group("Data");
  cmd->add_option("--train-size", c.data.train_size, "Stratified training subset (0 = all)")->capture_default_str()->group("Data");
  cmd->add_option("--test-size", c.data.test_size, "Stratified test subset (0 = all)")->capture_default_str()->group("Data");
  cmd->add_option("--grid", c.net.grid, "g: g x g kernelNet units on [0, 1]^2")->capture_default_str()->group("Model");
  cmd->add_option("--eta", c.net.eta, "Sparsity of eq. 9 (0: mean threshold, 1: only the maximum survives)")
      ->capture_default_str()->group("Model");
  cmd->add_option("--sigma", c.net.sigma, "RBF width on [0, 1]^2 (0: 1.5 grid spacings)")->capture_default_str()->group("Model");
  cmd->add_option("--encoder", c.net.encoder, "ReLU widths before the kernelNet layer")->delimiter(',')
      ->capture_default_str()->group("Model");
  cmd->add_option("--decoder", c.net.decoder, "ReLU widths after it")->delimiter(',')->capture_default_str()->group("Model");
  cmd->add_option("--objective", c.net.objective,
                  "classifier (categorical cross-entropy) | autoencoder (reconstructs the unstandardised inputs in "
                  "[0, 1], per-pixel cross-entropy; paper Figure 5a)")
      ->capture_default_str()->group("Model");
  cmd->add_option("--epochs", c.epochs, "Epochs (Adam)")->capture_default_str()->group("Training");
  cmd->add_option("--batch-size", c.batch_size, "Mini-batch size")->capture_default_str()->group("Training");
  cmd->add_option("--lr", c.lr, "Adam learning rate")->capture_default_str()->group("Training");
  cmd->callback([f] { run(*f); });
}

}  // namespace rkhs::cli
