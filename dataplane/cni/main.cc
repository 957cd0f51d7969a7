// SPDX-License-Identifier: Apache-2.0
// netfence-cni: the chained CNI plugin binary (see plugin.h). The container runtime runs it with
// the CNI_* variables and the configuration on stdin; the result or error JSON goes to stdout,
// diagnostics to stderr.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dataplane/agent/protocol.h"
#include "dataplane/cni/plugin.h"

namespace {

constexpr size_t kMaxStdinBytes = 16u << 20;

// Reads all of fd; false on a read error or past kMaxStdinBytes (*error says which).
bool ReadAll(int fd, std::string* data, std::string* error) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("reading the configuration from stdin: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    data->append(buf, static_cast<size_t>(n));
    if (data->size() > kMaxStdinBytes) {
      *error = "the configuration on stdin is larger than " + std::to_string(kMaxStdinBytes) + " bytes";
      return false;
    }
  }
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

int main() {
  std::signal(SIGPIPE, SIG_IGN);  // a runtime that stopped reading gets an error, not a dead plugin
  netfence::cni::Env env;
  for (const char* name : {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  std::string in, out, log, error;
  // Without CNI_COMMAND nobody is feeding stdin (e.g. run by hand): do not wait for it.
  if (env.count("CNI_COMMAND") && !env["CNI_COMMAND"].empty() && !ReadAll(STDIN_FILENO, &in, &error)) {
    WriteAll(STDOUT_FILENO, netfence::cni::ErrorJson({netfence::agent::kCniIoFailure, error, ""}, ""));
    WriteAll(STDERR_FILENO, "netfence-cni: " + error + "\n");
    return 1;
  }
  int status = netfence::cni::RunPlugin(env, in, &out, &log);
  WriteAll(STDOUT_FILENO, out);
  WriteAll(STDERR_FILENO, log);
  return status;
}
