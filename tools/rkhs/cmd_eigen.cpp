// rkhs eigen: the top-k eigenpairs of a kernel by NeuralEF or Nystrom (paper 002), against the exact reference.
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <memory>

#include "cli.h"
#include "rkhs/error.h"
#include "rkhs/jobs/eigen_job.h"

namespace rkhs::cli {

namespace {

struct EigenFlags {
  CommonFlags common;
  jobs::EigenConfig config;
};

void run(EigenFlags& f) {
  const bool progress = setup_runtime(f.common, /*data_parallel=*/true);
  auto& c = f.config;
  c.seed = f.common.seed;
  c.progress = progress;
  c.out_dir = f.common.out;
  c.device = f.common.device;
  auto r = jobs::run_eigen(c);
  if (!writes_outputs()) return;  // rank 0 reports for the world
  std::string png;
  if (!c.out_dir.empty() && c.data == "uniform1d") {
    // Figure 2's layout: learned eigenfunctions (lines) over the reference ones (dashed), the top min(k, 5).
    const int64_t show = std::min<int64_t>(c.k, 5);
    std::string plot = "set datafile separator ','\nset key outside right\nset xlabel 'x'\nset ylabel 'psi_j(x)'\n"
                       "set title '" + std::string(c.method == "neuralef" ? "NeuralEF" : c.method == "spin" ? "SpIN" : "Nystrom") +
                       " eigenfunctions (solid) and the exact ones (dashed), " + r.kernel_spec + "'\nplot ";
    for (int64_t j = 1; j <= show; ++j) {
      const std::string file = "'" + c.out_dir + "/eigenfunctions.csv' every ::1";
      plot += (j > 1 ? ", " : "") + file + " using 1:" + std::to_string(1 + j) + " with lines lw 2 lc " +
              std::to_string(j) + " title 'psi_" + std::to_string(j) + "'";
      if (r.has_reference)
        plot += ", " + file + " using 1:" + std::to_string(1 + c.k + j) + " with lines dt 2 lc " + std::to_string(j) +
                " notitle";
    }
    png = run_gnuplot(c.out_dir, "eigenfunctions", plot + "\n");
  }
  if (!c.out_dir.empty() && c.data == "fashion-mnist" && c.k >= 3) {
    // Figure 8's layout: the held-out images projected on the top three eigenfunctions, coloured by class.
    png = run_gnuplot(c.out_dir, "projections",
                      "set datafile separator ','\nset xlabel 'psi_1'\nset ylabel 'psi_2'\nset zlabel 'psi_3'\n"
                      "set ticslevel 0\nset view 60, 30\nset cbrange [-0.5:9.5]\nset cbtics 0, 1, 9\n"
                      "set cblabel 'class'\nset palette maxcolors 10\nset palette defined (0 '#1f77b4', 1 '#ff7f0e', "
                      "2 '#2ca02c', 3 '#d62728', 4 '#9467bd', 5 '#8c564b', 6 '#e377c2', 7 '#7f7f7f', 8 '#bcbd22', "
                      "9 '#17becf')\nset title 'Held-out images on the top three eigenfunctions (" + c.method +
                      ", --kernel " + c.kernel + ")'\nsplot '" + c.out_dir +
                      "/projections.csv' every ::1 using 2:3:4:1 with points pt 7 ps 0.5 palette notitle\n");
  }
  if (!c.out_dir.empty() && !r.laplace.empty()) {
    // Figure 6's layout: predictive-entropy histograms in (the pair's test images) vs out of distribution.
    std::string plot = "set datafile separator ','\nset multiplot layout 1," + std::to_string(r.laplace.size()) +
                       " title 'Predictive entropy: test images of classes " + c.ntk_classes +
                       " (in) and of the other classes (out)'\nset xlabel 'entropy (nats)'\nset yrange [0:*]\n";
    for (size_t m = 0; m < r.laplace.size(); ++m) {
      const std::string file = "'" + c.out_dir + "/entropy_histograms.csv' every ::1";
      plot += "set title '" + r.laplace[m].name + "'\nplot " + file + " using 1:" + std::to_string(2 + 2 * m) +
              " with steps lw 2 title 'in', " + file + " using 1:" + std::to_string(3 + 2 * m) +
              " with steps lw 2 title 'out'\n";
    }
    run_gnuplot(c.out_dir, "entropy_histograms", plot + "unset multiplot\n");
  }
  if (!f.common.json || isatty(STDOUT_FILENO)) {
    std::cout << "data     " << r.data_description << "\nkernel   " << r.kernel_spec << "\n"
              << " j   eigenvalue    reference     rel.error  alignment\n";
    for (size_t j = 0; j < r.eigenvalues.size(); ++j) {
      std::cout << std::setw(2) << j + 1 << "  " << std::scientific << std::setprecision(5) << std::setw(12)
                << r.eigenvalues[j];
      if (r.has_reference)
        std::cout << "  " << std::setw(12) << r.reference_eigenvalues[j] << "  " << std::fixed << std::setprecision(4)
                  << std::setw(9) << r.rel_error[j] << "  " << std::setw(9) << r.alignment[j];
      std::cout << "\n";
    }
    std::cout << std::fixed << std::setprecision(2) << "time     " << r.train_seconds << " s (" << c.method << ")\n";
    if (r.has_clusters)
      std::cout << "classifier test accuracy " << 100 * r.classifier_test_accuracy << "%; K-means (2 clusters) on the "
                << "held-out projections " << 100 * r.kmeans_accuracy << "% (scaled by sqrt(mu): "
                << 100 * r.kmeans_scaled_accuracy << "%), on their pixels "
                << 100 * r.kmeans_pixels_accuracy << "%\n";
    for (const auto& l : r.laplace)
      std::cout << std::setw(11) << l.name << ": NLL " << std::setprecision(4) << l.nll << ", ECE " << l.ece
                << ", mean entropy in " << l.entropy_in << " / out " << l.entropy_out << ", OOD AUROC " << l.ood_auroc
                << std::setprecision(2) << "\n";
    if (r.has_classifier)
      std::cout << "logistic regression on the projections: test accuracy " << 100 * r.logistic_test_accuracy
                << "% (train " << 100 * r.logistic_train_accuracy << "%, " << r.classify_train_size << " training and "
                << r.classify_test_size << " test images)\n";
    if (!png.empty()) std::cout << "plot     " << png << "\n";
  }
  if (f.common.json) std::cout << r.to_json(c) << std::endl;
}

}  // namespace

void register_eigen(CLI::App& app) {
  std::vector<OnlyFor> neural;  // options of the trained networks (NeuralEF, SpIN): not for Nystrom
  auto f = std::make_shared<EigenFlags>();
  auto& c = f->config;
  auto* cmd = app.add_subcommand("eigen",
                                 "Top-k eigenfunctions of a kernel by NeuralEF (paper 002) or the Nystrom method, "
                                 "compared with the exact eigendecomposition of the same sample");
  add_common_flags(*cmd, f->common);
  cmd->add_option("--kernel", c.kernel,
                  "rbf (uniform1d: exp(-(x-x')^2/2); fashion-mnist: exp(-|x-x'|^2/200); other data: "
                  "exp(-|x-x'|^2)) | polynomial ((x x' + 1.5)^4; on fashion-mnist (0.001 x.x' + 1)^10) | nngp-mlp "
                  "(NN-GP of a 2-hidden-layer ReLU MLP, Monte Carlo over 10000 networks of width 16) | nngp-relu "
                  "(its infinite-width limit, analytic) | nngp-mlp-erf | nngp-erf (the same with erf) | nngp-cnn (CNN-GP kernel, Monte Carlo over 2000 CNNs; fashion-mnist) | "
                  "ntk (empirical NTK of a LeNet-5 classifier of two classes, --ntk-classes; fashion-mnist) | "
                  "any registry spec (rkhs kernels)")
      ->capture_default_str()->group("Problem");
  cmd->add_option("--data", c.data,
                  "uniform1d (U[-2,2] for rbf, U[-1,1] for polynomial) | moons | circles | fashion-mnist (pixels in "
                  "[-1,1]; held-out points from the test set; adds a logistic regression on the projections) | csv:PATH")
      ->capture_default_str()->group("Problem");
  cmd->add_option("--n", c.n, "Training points")->capture_default_str()->group("Problem");
  cmd->add_option("--heldout", c.heldout, "Held-out points for the alignment")->capture_default_str()->group("Problem");
  cmd->add_option("--k", c.k, "Eigenpairs")->capture_default_str()->group("Problem");
  cmd->add_option("--method", c.method, "neuralef | nystrom | spin (the SpIN baseline on the same networks)")
      ->capture_default_str()->group("Problem");
  neural.push_back({cmd->add_option("--spin-decay", c.spin.decay, "spin: decay of the moving averages of Sigma, Pi and their Jacobians")
      ->capture_default_str()->group("Training"), {"spin"}});
  cmd->add_option("--reference-limit", c.reference_limit,
                  "Compute the exact reference eigendecomposition when N is at most this (0: never)")
      ->capture_default_str()->group("Problem");
  cmd->add_option("--mc-samples", c.mc_samples, "Monte Carlo kernels: random networks S (0: 10000 MLPs, 2000 CNNs)")
      ->capture_default_str()->group("Problem");
  cmd->add_option("--ntk-classes", c.ntk_classes, "--kernel ntk: the two Fashion-MNIST classes of the classifier")
      ->capture_default_str()->group("Problem");
  cmd->add_option("--ntk-epochs", c.ntk_epochs, "--kernel ntk: the classifier's training epochs")
      ->capture_default_str()->group("Problem");
  cmd->add_option("--ntk-method", c.ntk_method,
                  "--kernel ntk: finite-differences (eq. 20, --mc-samples Rademacher directions, default 4000) | "
                  "jacobian (exact per-example Jacobians)")
      ->capture_default_str()->group("Problem");
  cmd->add_option("--classify-size", c.classify_size,
                  "fashion-mnist: training images whose projections train the logistic regression (0: all 60000)")
      ->capture_default_str()->group("Problem");
  neural.push_back({cmd->add_option("--iterations", c.train.iterations, "NeuralEF: Adam iterations (cosine schedule)")
      ->capture_default_str()->group("NeuralEF"), {"neuralef", "spin"}});
  neural.push_back({cmd->add_option("--batch-size", c.train.batch_size, "NeuralEF: batch size (at most N)")->capture_default_str()->group("NeuralEF"), {"neuralef", "spin"}});
  neural.push_back({cmd->add_option("--lr", c.train.lr, "NeuralEF: Adam learning rate")->capture_default_str()->group("NeuralEF"), {"neuralef", "spin"}});
  // The rotation is the command's default: without it the 5th 1-D RBF eigenpair is missed (docs/RESULTS.md).
  c.train.rayleigh_ritz = true;
  neural.push_back({cmd->add_flag("--rayleigh-ritz,!--no-rayleigh-ritz", c.train.rayleigh_ritz,
                "NeuralEF/SpIN, not in the paper, on by default: after training, rotate the k functions within their "
                "span by Rayleigh-Ritz on (up to 10000 of) the training points (a k x k eigenproblem; the "
                "eigenvalues become its Ritz values). --no-rayleigh-ritz: the paper's method alone")
      ->group("NeuralEF"), {"neuralef", "spin"}});
  neural.push_back({cmd->add_option("--width", c.net.width, "NeuralEF: hidden units per network")->capture_default_str()->group("NeuralEF"), {"neuralef", "spin"}});
  neural.push_back({cmd->add_option("--hidden-layers", c.net.hidden_layers, "NeuralEF: hidden layers per network")
      ->capture_default_str()->group("NeuralEF"), {"neuralef", "spin"}});
  neural.push_back({cmd->add_option("--arch", c.net.architecture,
                  "NeuralEF: mlp | cnn (images: Conv3-BN-ReLU-MaxPool2-Conv3-BN-ReLU-MaxPool2-Linear(--width)-ReLU-Linear)")
      ->capture_default_str()->group("NeuralEF"), {"neuralef", "spin"}});
  neural.push_back({cmd->add_flag("--shared-trunk", c.net.shared_trunk,
               "NeuralEF --arch mlp: one network with k outputs instead of k separate networks")
      ->group("NeuralEF"), {"neuralef", "spin"}});
  neural.push_back({cmd->add_option("--channels", c.net.channels, "NeuralEF --arch cnn: the two convolutions' channels")
      ->delimiter(',')->expected(2)->capture_default_str()->group("NeuralEF"), {"neuralef", "spin"}});
  auto* activation = cmd->add_option("--activation", c.net.activation, "NeuralEF: sincos | relu | tanh (fashion-mnist: relu)")
                          ->capture_default_str()->group("NeuralEF");
  neural.push_back({activation, {"neuralef", "spin"}});
  cmd->callback([f, activation, neural] {
    check_only_for(neural, "--method", f->config.method);
    if (f->config.data == "fashion-mnist" && activation->count() == 0) f->config.net.activation = "relu";
    run(*f);
  });
}

}  // namespace rkhs::cli
