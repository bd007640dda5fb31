// rkhs launch: N worker processes of one rkhs command on this machine, with torchrun's variables (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT); their output forwarded line by line with a rank prefix;
// the exit code of the first worker that fails (the others are stopped). docs/DISTRIBUTED.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <csignal>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "rkhs/error.h"

namespace rkhs::cli {
namespace {

struct LaunchFlags {
  int nproc = 0;
  int threads_per_proc = 0;  // 0: the machine's cores divided among the workers
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port of this machine
  double grace = 5;     // seconds between SIGTERM and SIGKILL for the workers left after a failure
  std::vector<std::string> command;
};

// A port nobody listens on now (the kernel's choice for port 0); rank 0's store binds it a moment later.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  RKHS_CHECK(fd >= 0, std::string("launch: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  RKHS_CHECK(ok, std::string("launch: cannot find a free port: ") + std::strerror(errno));
  return ntohs(a.sin_port);
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  RKHS_CHECK(n > 0, "launch: cannot find the rkhs executable (/proc/self/exe)");
  buf[n] = '\0';
  const std::string path(buf);
  const std::string base = path.substr(path.find_last_of('/') + 1);
  RKHS_CHECK(base.rfind("rkhs", 0) == 0, "launch: start it from the rkhs binary (this process is " + path + ")");
  return path;
}

// One worker: its pid, its two pipes (stdout, stderr) and the text of an unfinished line of each.
struct Worker {
  int rank = 0;
  pid_t pid = -1;
  int fd[2] = {-1, -1};
  std::string partial[2];
  bool exited = false;
  int code = 0;
};

// Forks and execs worker `rank`; its stdout and stderr go into pipes that the launcher reads.
Worker start_worker(const LaunchFlags& f, int rank, int port, const std::string& exe) {
  int out[2], err[2];
  RKHS_CHECK(::pipe(out) == 0 && ::pipe(err) == 0, std::string("launch: pipe: ") + std::strerror(errno));
  std::vector<std::string> args{"rkhs"};
  args.insert(args.end(), f.command.begin(), f.command.end());
  bool has_threads = false;
  for (const auto& a : f.command) has_threads = has_threads || a == "--threads" || a.rfind("--threads=", 0) == 0;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = f.threads_per_proc > 0 ? f.threads_per_proc : std::max(1, cores / f.nproc);
  if (!has_threads) args.push_back("--threads=" + std::to_string(threads));
  const pid_t pid = ::fork();
  RKHS_CHECK(pid >= 0, std::string("launch: fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::close(out[0]), ::close(out[1]), ::close(err[0]), ::close(err[1]);
    ::setenv("RANK", std::to_string(rank).c_str(), 1);
    ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
    ::setenv("WORLD_SIZE", std::to_string(f.nproc).c_str(), 1);
    ::setenv("LOCAL_WORLD_SIZE", std::to_string(f.nproc).c_str(), 1);
    ::setenv("MASTER_ADDR", f.master_addr.c_str(), 1);
    ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    std::fprintf(stderr, "rkhs launch: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  Worker w;
  w.rank = rank;
  w.pid = pid;
  w.fd[0] = out[0];
  w.fd[1] = err[0];
  return w;
}

// Rank 0's stdout passes through as it is (so `rkhs launch ... classify --json` prints the same JSON line as one
// process); every other line gets "[rank R] ".
void emit(const Worker& w, int stream, const std::string& line) {
  FILE* to = stream == 0 ? stdout : stderr;
  if (!(w.rank == 0 && stream == 0)) std::fprintf(to, "[rank %d] ", w.rank);
  std::fwrite(line.data(), 1, line.size(), to);
  std::fflush(to);
}

// Reads what is available on worker pipe (w, stream); returns false at its end (the pipe is then closed).
bool forward(Worker& w, int stream) {
  char buf[65536];
  const ssize_t n = ::read(w.fd[stream], buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    if (!w.partial[stream].empty()) emit(w, stream, w.partial[stream] + "\n");
    w.partial[stream].clear();
    ::close(w.fd[stream]);
    w.fd[stream] = -1;
    return false;
  }
  std::string& p = w.partial[stream];
  p.append(buf, static_cast<size_t>(n));
  size_t start = 0;
  for (size_t nl; (nl = p.find_first_of("\n\r", start)) != std::string::npos; start = nl + 1)
    emit(w, stream, p.substr(start, nl + 1 - start));  // progress lines end in \r
  p.erase(0, start);
  return true;
}

volatile sig_atomic_t interrupted = 0;
void on_signal(int sig) { interrupted = sig; }

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

int run(const LaunchFlags& f) {
  RKHS_CHECK(f.nproc >= 1, "--nproc must be >= 1");
  RKHS_CHECK(f.threads_per_proc >= 0, "--threads-per-proc must be >= 0");
  RKHS_CHECK(!f.command.empty(), "launch: no command; use `rkhs launch --nproc N -- classify ...`");
  RKHS_CHECK(f.command[0] != "launch", "launch: the command cannot be launch itself");
  const std::string exe = self_executable();
  const int port = f.master_port > 0 ? f.master_port : free_port();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<Worker> workers;
  for (int r = 0; r < f.nproc; ++r) workers.push_back(start_worker(f, r, port, exe));
  int failed = -1, code = 0;  // the first worker to fail and its code
  std::chrono::steady_clock::time_point term_sent;
  bool terminating = false, killed = false;
  auto stop_others = [&](int sig) {
    for (auto& w : workers)
      if (!w.exited) ::kill(w.pid, sig);
  };
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::pair<size_t, int>> owner;
    for (size_t i = 0; i < workers.size(); ++i)
      for (int s = 0; s < 2; ++s)
        if (workers[i].fd[s] >= 0) {
          fds.push_back({workers[i].fd[s], POLLIN, 0});
          owner.emplace_back(i, s);
        }
    if (!fds.empty() && ::poll(fds.data(), fds.size(), 100) > 0)
      for (size_t k = 0; k < fds.size(); ++k)
        if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) forward(workers[owner[k].first], owner[k].second);
    if (fds.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    bool all_done = true;
    const Worker* cause = nullptr;  // of the workers that failed since the last sweep, the first one killed by a
    for (auto& w : workers) {       // signal (a peer then fails on the broken connection), else the lowest rank
      int status = 0;
      if (!w.exited && ::waitpid(w.pid, &status, WNOHANG) == w.pid) {
        w.exited = true;
        w.code = exit_code(status);
        if (w.code != 0 && (!cause || (w.code > 128 && cause->code <= 128))) cause = &w;
      }
      all_done = all_done && w.exited && w.fd[0] < 0 && w.fd[1] < 0;
    }
    if (cause && failed < 0) {
      failed = cause->rank, code = cause->code;
      std::fprintf(stderr, "rkhs launch: rank %d exited with code %d; stopping the other workers\n", failed, code);
    }
    if (all_done) break;
    if (interrupted && failed < 0) failed = -2, code = 128 + interrupted;
    if (failed != -1 && !terminating) {
      stop_others(SIGTERM);
      terminating = true;
      term_sent = std::chrono::steady_clock::now();
    }
    if (terminating && !killed &&
        std::chrono::steady_clock::now() - term_sent > std::chrono::duration<double>(f.grace)) {
      stop_others(SIGKILL);
      killed = true;
    }
  }
  return code;
}

}  // namespace

void register_launch(CLI::App& app) {
  auto f = std::make_shared<LaunchFlags>();
  auto* cmd = app.add_subcommand(
      "launch",
      "Run an rkhs command as N data-parallel processes on this machine (torchrun's variables; docs/DISTRIBUTED.md): "
      "rkhs launch --nproc 2 -- classify --data sphere --epochs 5");
  cmd->add_option("--nproc", f->nproc, "Worker processes")->required();
  cmd->add_option("--threads-per-proc", f->threads_per_proc,
                  "CPU threads of each worker (0 = the cores divided among them; a --threads in the command wins)")
      ->capture_default_str();
  cmd->add_option("--master-addr", f->master_addr, "Address rank 0 listens on")->capture_default_str();
  cmd->add_option("--master-port", f->master_port, "Port rank 0 listens on (0 = a free one)")->capture_default_str();
  cmd->add_option("--grace", f->grace, "Seconds the other workers get to stop after one fails, before SIGKILL")
      ->capture_default_str();
  cmd->add_option("command", f->command, "The rkhs command and its arguments, after --")->required();
  cmd->callback([f] {
    const int code = run(*f);
    if (code != 0) throw ExitStatus(code, "launch: a worker exited with code " + std::to_string(code));
  });
}

}  // namespace rkhs::cli
