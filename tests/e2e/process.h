// SPDX-License-Identifier: Apache-2.0
// Child processes for the end-to-end harness: one-shot runs with stdin/stdout/stderr through
// pipes, optionally inside a network namespace (the way a container runtime runs CNI plugins
// in the node's namespace), and long-running daemons (the agent) with their log in a file.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace netfence::e2e {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the environment `env` (nothing inherited), stdin `input`, and,
// when netns_path is set, inside that network namespace (setns in the child: the mount
// namespace, and so bpffs, are the caller's). Waits for it.
StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                                   const std::string& input, const std::string& netns_path = "");

// A daemon: started with stdout and stderr appended to log_path, stopped with a signal.
class Daemon {
 public:
  static StatusOr<Daemon> Start(const std::vector<std::string>& argv, const std::string& log_path);
  Daemon() = default;
  Daemon(Daemon&& o) noexcept;
  Daemon& operator=(Daemon&& o) noexcept;
  ~Daemon();  // SIGKILL if still running

  pid_t pid() const { return pid_; }
  bool running();
  // Sends the signal and waits up to timeout_ms for the exit; SIGKILL after that. Returns the
  // exit code (128 + signal when killed by one).
  int Stop(int signo, int timeout_ms = 5000);
  const std::string& log_path() const { return log_path_; }
  std::string LogTail(size_t bytes = 4000) const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

}  // namespace netfence::e2e
