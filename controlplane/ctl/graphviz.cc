// SPDX-License-Identifier: Apache-2.0
#include "controlplane/ctl/graphviz.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

extern char** environ;

namespace netfence::ctl {

namespace {

std::string Extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

Status RenderDot(const std::string& dot, const std::string& path) {
  const std::string ext = Extension(path);
  if (ext == "dot" || ext == "gv") {
    std::ofstream f(path, std::ios::trunc);
    f << dot;
    f.close();
    if (!f) return Status::Error(path + ": cannot be written");
    return Status::Ok();
  }
  const std::vector<std::string> formats = {"svg", "png", "pdf", "jpg", "jpeg", "gif", "json"};
  if (std::find(formats.begin(), formats.end(), ext) == formats.end()) {
    return Status::Error(path +
                         ": the extension names no format (.svg, .png, .pdf, .jpg, .gif, .json; .dot or .gv "
                         "for the DOT text)");
  }
  int in[2];
  if (::pipe(in) != 0) return Status::Error("pipe: " + std::string(std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_addclose(&actions, in[1]);
  const std::string format = "-T" + ext;
  const std::string out = "-o" + path;
  std::vector<char*> argv = {const_cast<char*>("dot"), const_cast<char*>(format.c_str()),
                             const_cast<char*>(out.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "dot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  if (rc != 0) {
    ::close(in[1]);
    if (rc == ENOENT) {
      return Status::Error("Graphviz's `dot` is not installed (apt-get install graphviz); `-o dot` prints the DOT");
    }
    return Status::Error("running dot: " + std::string(std::strerror(rc)));
  }
  // A dot that exits early must not kill us with SIGPIPE: its exit status says what failed.
  struct IgnorePipe {
    void (*old)(int) = std::signal(SIGPIPE, SIG_IGN);
    ~IgnorePipe() { std::signal(SIGPIPE, old); }
  } ignore_pipe;
  size_t written = 0;
  while (written < dot.size()) {
    const ssize_t n = ::write(in[1], dot.data() + written, dot.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  ::close(in[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Error("dot " + format + " " + out + " failed (exit " +
                         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  return Status::Ok();
}

}  // namespace netfence::ctl
