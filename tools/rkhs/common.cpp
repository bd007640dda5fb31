#include <torch/torch.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "cli.h"

#include <algorithm>
#include "rkhs/core/dist.h"
#include "rkhs/error.h"

namespace rkhs::cli {

void add_common_flags(CLI::App& cmd, CommonFlags& f) {
  // A flag given twice (once from --config, once on the command line) keeps the last value.
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd.add_flag("--json", f.json, "Print one JSON object with the results as the last line of stdout");
  cmd.add_option("--out", f.out, "Run folder: config.json, metrics.csv, model.pt, model.json, plots");
  cmd.add_option("--device", f.device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd.add_option("--threads", f.threads, "CPU threads (0 = number of cores)")->capture_default_str();
  cmd.add_option("--seed", f.seed, "Random seed (data draws, splits, initialisation, batches)")->capture_default_str();
  cmd.add_option("--dist-timeout", f.dist_timeout,
                 "Multi-process runs (WORLD_SIZE > 1, docs/DISTRIBUTED.md): seconds to wait for the other processes "
                 "at the start and in each collective before stopping with an error")
      ->capture_default_str();
  cmd.add_flag("--no-dist-overlap", f.no_dist_overlap,
               "Multi-process runs: sum the gradients after the backward pass instead of while it runs "
               "(docs/DISTRIBUTED.md)");
  cmd.add_option("--config", "Read options from a TOML/INI file whose keys are the long flag names "
                             "(epochs = 30); flags on the command line win");
}

namespace {

// The option of cmd that arg names (--name or --name=VALUE), or nullptr.
const CLI::Option* named(const CLI::App& cmd, const std::string& arg) {
  if (arg.rfind("--", 0) != 0 || arg.size() < 3) return nullptr;
  return cmd.get_option_no_throw(arg.substr(0, arg.find('=')));
}

// A list option (--hidden 8,4) gathers the values of all its occurrences in CLI11, where any other option keeps
// its last: args without the earlier occurrences of each list option, so that the last one wins there too (an
// occurrence's values: its own "=VALUE", else the arguments after it up to the next option).
std::vector<std::string> last_lists_only(const CLI::App& cmd, const std::vector<std::string>& args) {
  std::map<const CLI::Option*, size_t> last;
  for (size_t i = 0; i < args.size(); ++i)
    if (const CLI::Option* o = named(cmd, args[i]); o != nullptr && o->get_items_expected_max() > 1) last[o] = i;
  const auto is_option = [](const std::string& a) {
    return a.rfind("--", 0) == 0 || (a.size() > 1 && a[0] == '-' && std::isalpha(static_cast<unsigned char>(a[1])));
  };
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    const CLI::Option* o = named(cmd, args[i]);
    if (o == nullptr || !last.count(o) || last[o] == i) {
      kept.push_back(args[i]);
      continue;
    }
    if (args[i].find('=') == std::string::npos)
      while (i + 1 < args.size() && !is_option(args[i + 1])) ++i;  // its values go with it
  }
  return kept;
}

}  // namespace

std::vector<std::string> expand_config(CLI::App& app, const std::vector<std::string>& args) {
  // CLI11 reads config files for the main app only, so `rkhs SUBCOMMAND --config FILE` is expanded here:
  // the file's keys become flags placed right after the subcommand, before the user's own flags.
  if (args.empty()) return args;
  CLI::App* cmd = nullptr;
  try {
    cmd = app.get_subcommand(args[0]);
  } catch (const CLI::OptionNotFound&) {
    return args;
  }
  std::vector<std::string> rest, from_file;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string file;
    if (args[i] == "--") {  // what follows is not this command's (rkhs launch ... -- COMMAND)
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) throw Error("--config needs a file name");
      file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    std::vector<CLI::ConfigItem> items;
    try {
      items = CLI::ConfigTOML().from_file(file);
    } catch (const CLI::FileError& e) {
      throw Error("--config " + file + ": cannot read the file");
    } catch (const CLI::ParseError& e) {
      throw Error("--config " + file + ": " + e.what());
    }
    for (const auto& item : items) {
      if (item.name == "++" || item.name == "--") continue;  // section markers
      if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == cmd->get_name()))
        throw Error("--config " + file + ": section [" + item.parents[0] + "] does not belong to `rkhs " +
                    cmd->get_name() + "`");
      const CLI::Option* opt = cmd->get_option_no_throw("--" + item.name);
      if (opt == nullptr || item.name == "config")
        throw Error("--config " + file + ": unknown option '" + item.name + "' for `rkhs " + cmd->get_name() + "`");
      if (opt->get_expected_max() == 0) {  // a flag: "json = true"
        const std::string v = item.inputs.empty() ? "true" : item.inputs.front();
        if (v == "true" || v == "1") from_file.push_back("--" + item.name);
        else if (v != "false" && v != "0")
          throw Error("--config " + file + ": '" + item.name + "' is a flag; use true or false");
        continue;
      }
      std::string value;
      for (const auto& in : item.inputs) value += (value.empty() ? "" : ",") + in;
      from_file.push_back("--" + item.name + "=" + value);
    }
  }
  const auto own_end = std::find(rest.begin(), rest.end(), std::string("--"));  // the command's own flags end here
  const std::vector<std::string> own = last_lists_only(*cmd, {rest.begin(), own_end});
  std::vector<std::string> out{args[0]};
  for (const auto& flag : from_file) {  // flags on the command line win over the file's
    const CLI::Option* opt = named(*cmd, flag);
    if (std::none_of(own.begin(), own.end(), [&](const std::string& a) { return named(*cmd, a) == opt; }))
      out.push_back(flag);
  }
  out.insert(out.end(), own.begin(), own.end());
  out.insert(out.end(), own_end, rest.end());
  return out;
}

namespace {
bool quiet_runs = false;
}  // namespace

void set_quiet(bool quiet) { quiet_runs = quiet; }

bool writes_outputs() { return core::DistWorld::get().is_root(); }

bool setup_runtime(const CommonFlags& f, bool data_parallel) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  RKHS_CHECK(f.threads >= 0, "--threads must be >= 0");
  // The lazy device exists for the device tests, which build modules on it (tests/device/lazy_modules.h); the
  // commands move modules with Module::to, which LibTorch cannot do for it.
  RKHS_CHECK(f.device != "lazy", "--device lazy: a test device for tests/device only; use cpu, cuda or cuda:N");
  core::DistConfig world = core::dist_config_from_env(f.dist_timeout);
  world.overlap = !f.no_dist_overlap;
  RKHS_CHECK(world.world_size == 1 || data_parallel,
             "WORLD_SIZE=" + std::to_string(world.world_size) +
                 ": this command runs in one process only (data-parallel: classify, ckn, embed, recommend and eigen)");
  // Each process of a world on this machine takes its share of the cores unless --threads says otherwise.
  const int share = std::max(1, cores / std::max(1, world.world_size));
  torch::set_num_threads(f.threads > 0 ? f.threads : world.world_size > 1 ? share : cores);
  auto& dist = core::DistWorld::get();
  if (world.world_size > 1 && !dist.active()) dist.init(world);
  return !quiet_runs && dist.is_root() && !(f.json && !isatty(STDOUT_FILENO));
}

std::string run_gnuplot(const std::string& dir, const std::string& name, const std::string& script) {
  const std::string gp = dir + "/" + name + ".gp", png = dir + "/" + name + ".png";
  {
    std::ofstream out(gp);
    RKHS_CHECK(out.good(), "cannot write " + gp);
    out << "set terminal pngcairo size 900,540 noenhanced\nset output '" << png << "'\n" << script;
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::cerr << "note: gnuplot is not installed (scripts/setup.sh installs it); plot script left in " << gp << "\n";
    return "";
  }
  std::string quoted;  // single-quoted for the shell, with ' written as '\''
  for (char ch : gp) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  const std::string cmd = "gnuplot '" + quoted + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    // pngcairo is missing from some gnuplot builds; fall back to the plain png terminal.
    std::ofstream out(gp);
    out << "set terminal png size 900,540\nset output '" << png << "'\n" << script;
    out.close();
    if (std::system(cmd.c_str()) != 0) {
      std::cerr << "note: gnuplot failed on " << gp << "\n";
      return "";
    }
  }
  return png;
}

void check_only_for(const std::vector<OnlyFor>& options, const std::string& flag, const std::string& actual) {
  for (const auto& o : options) {
    if (o.option->count() == 0 || std::find(o.values.begin(), o.values.end(), actual) != o.values.end()) continue;
    std::string allowed;
    for (const auto& v : o.values) allowed += (allowed.empty() ? "" : "|") + v;
    throw Error(o.option->get_name() + " applies to " + flag + " " + allowed + " only (this run uses " + actual + ")");
  }
}

}  // namespace rkhs::cli
