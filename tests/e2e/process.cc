// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "common/base/unique_fd.h"

namespace netfence::e2e {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// In a forked child before exec: signal masks survive exec, and this process blocks SIGTERM
// and SIGINT for its cleanup thread (cleanup.h); the child must get them.
void UnblockAllSignals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

struct Argv {
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> s) : storage(std::move(s)) {
    for (auto& a : storage) ptrs.push_back(a.data());
    ptrs.push_back(nullptr);
  }
};

}  // namespace

StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                                   const std::string& input, const std::string& netns_path) {
  if (argv.empty()) return Status::Error("RunProcess: empty argv");
  UniqueFd ns;
  if (!netns_path.empty()) {
    ns.reset(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return Status::Error(Errno(netns_path));
  }
  int in_p[2], out_p[2], err_p[2];
  if (::pipe2(in_p, O_CLOEXEC) != 0 || ::pipe2(out_p, O_CLOEXEC) != 0 || ::pipe2(err_p, O_CLOEXEC) != 0) {
    return Status::Error(Errno("pipe2"));
  }
  UniqueFd in_r(in_p[0]), in_w(in_p[1]), out_r(out_p[0]), out_w(out_p[1]), err_r(err_p[0]), err_w(err_p[1]);
  Argv args(argv);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  Argv envp(env_strings);

  pid_t pid = ::fork();
  if (pid < 0) return Status::Error(Errno("fork"));
  if (pid == 0) {  // only async-signal-safe calls from here
    UnblockAllSignals();
    if (ns.valid() && ::setns(ns.get(), CLONE_NEWNET) != 0) ::_exit(126);
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    ::execve(args.ptrs[0], args.ptrs.data(), envp.ptrs.data());
    ::_exit(127);
  }
  in_r.reset();
  out_w.reset();
  err_w.reset();
  // The input is small (a CNI configuration): write it all, then read both outputs.
  size_t written = 0;
  while (written < input.size()) {
    ssize_t n = ::write(in_w.get(), input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  in_w.reset();
  ProcessResult result;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = ExitCode(status);
  if (result.exit_code == 126) return Status::Error("cannot enter " + netns_path + " to run " + argv[0]);
  if (result.exit_code == 127) return Status::Error("cannot execute " + argv[0]);
  return result;
}

StatusOr<Daemon> Daemon::Start(const std::vector<std::string>& argv, const std::string& log_path) {
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log.valid()) return Status::Error(Errno(log_path));
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Argv args(argv);
  pid_t pid = ::fork();
  if (pid < 0) return Status::Error(Errno("fork"));
  if (pid == 0) {
    UnblockAllSignals();
    ::dup2(null.get(), 0);
    ::dup2(log.get(), 1);
    ::dup2(log.get(), 2);
    ::execv(args.ptrs[0], args.ptrs.data());
    ::_exit(127);
  }
  Daemon d;
  d.pid_ = pid;
  d.log_path_ = log_path;
  return d;
}

Daemon::Daemon(Daemon&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), exit_code_(o.exit_code_), log_path_(std::move(o.log_path_)) {}

Daemon& Daemon::operator=(Daemon&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) Stop(SIGKILL);
    pid_ = std::exchange(o.pid_, -1);
    exit_code_ = o.exit_code_;
    log_path_ = std::move(o.log_path_);
  }
  return *this;
}

Daemon::~Daemon() {
  if (pid_ > 0) Stop(SIGKILL);
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = ExitCode(status);
    pid_ = -1;
    return false;
  }
  return true;
}

int Daemon::Stop(int signo, int timeout_ms) {
  if (pid_ <= 0) return exit_code_;
  ::kill(pid_, signo);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_code_;
}

std::string Daemon::LogTail(size_t bytes) const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

}  // namespace netfence::e2e
