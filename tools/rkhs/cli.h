#pragma once
// Shared pieces of the rkhs subcommands: common flags, JSON output, thread set-up, plotting.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "rkhs/error.h"

namespace rkhs::cli {

// Thrown by a command that has reported its failure itself and ends with its own exit code (rkhs launch: the
// first failed worker's code). The binary exits with `code` and prints nothing more.
class ExitStatus : public Error {
 public:
  ExitStatus(int code, const std::string& what) : Error(what), code(code) {}
  int code;
};

struct CommonFlags {
  bool json = false;          // print one JSON object as the last line of stdout
  std::string out;            // run folder
  std::string device = "cpu";
  int threads = 0;            // 0 = number of cores
  uint64_t seed = 0;
  double dist_timeout = 300;  // seconds: the rendezvous and each collective of a multi-process run
  bool no_dist_overlap = false;  // sum the gradients after the backward pass instead of during it
};

// Adds --json, --out, --device, --threads, --seed, --config to a subcommand.
void add_common_flags(CLI::App& cmd, CommonFlags& flags);
// Expands `SUBCOMMAND ... --config FILE ...` (args without the program name) into the file's flags followed
// by the command line's own, less the file's flags that the command line gives too (the command line wins, lists
// included) and less the earlier occurrences of a list option given twice (the last wins, as for any option);
// throws rkhs::Error for unreadable files and unknown keys.
std::vector<std::string> expand_config(CLI::App& app, const std::vector<std::string>& args);
// Applies --threads and joins the world of torchrun's variables (RANK, WORLD_SIZE, ...; docs/DISTRIBUTED.md)
// when WORLD_SIZE > 1, which only a `data_parallel` command may do (else rkhs::Error). Returns true when progress
// lines should be shown (not --json with stdout redirected; rank 0 only).
bool setup_runtime(const CommonFlags& flags, bool data_parallel = false);
// Whether this process writes the command's outputs (stdout, --out, checkpoints): rank 0, or a single process.
bool writes_outputs();

// Options that act only for some values of another flag (head-specific flags, NeuralEF-only flags...): `check`
// throws rkhs::Error "OPTION applies to FLAG A|B only (this run uses C)" for the first one given on the command
// line (or in a --config file) whose values do not include `actual`.
struct OnlyFor {
  CLI::Option* option;
  std::vector<std::string> values;
};
void check_only_for(const std::vector<OnlyFor>& options, const std::string& flag, const std::string& actual);

// The `rkhs` command line with every subcommand registered (a fresh app per call: the flags' values live in it).
std::unique_ptr<CLI::App> make_app();
// Expands --config, parses `args` (without the program name) and runs the chosen subcommand's job. Throws
// CLI::ParseError for bad flags, --help and --version (the caller prints it with app.exit), rkhs::Error and
// c10::Error from the job.
void run_command_line(CLI::App& app, std::vector<std::string> args);
// Progress lines off whatever the terminal (the Python package's rkhs.run(..., quiet=True)).
void set_quiet(bool quiet);

// Registers each subcommand; the callbacks run the job.
void register_classify(CLI::App& app);
void register_demo(CLI::App& app);
void register_kernels(CLI::App& app);
void register_recommend(CLI::App& app);
void register_embed(CLI::App& app);
void register_ckn(CLI::App& app);
void register_eigen(CLI::App& app);
void register_launch(CLI::App& app);

// Writes DIR/NAME.gp and runs gnuplot on it (if installed) to make DIR/NAME.png. Returns the PNG path, or
// "" with a note on stderr when gnuplot is missing or fails (the CSV data stays in DIR either way).
std::string run_gnuplot(const std::string& dir, const std::string& name, const std::string& script);

}  // namespace rkhs::cli
