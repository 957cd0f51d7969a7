// SPDX-License-Identifier: Apache-2.0
// Network namespaces and veth pairs via iproute2: commands run with posix_spawnp (explicit argv,
// stdout and stderr captured through pipes), namespaces entered per thread with setns.
#include "tests/testing/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "common/base/unique_fd.h"

extern char** environ;

namespace netfence::nettest {
namespace {

std::string Join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Reads both pipes until both reach end of file.
void ReadAll(int out_fd, int err_fd, std::string* out, std::string* err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {out, err};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll ignores negative descriptors
        --open;
      }
    }
  }
}

}  // namespace

StatusOr<std::string> RunCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::Error("RunCommand: empty argv");
  const std::string line = Join(argv);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::Error(Errno("pipe2"));
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Status::Error(Errno("pipe2"));
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);  // dup2 clears close-on-exec
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::Error("cannot run `" + line + "`: " + std::strerror(rc));
  out_w.reset();
  err_w.reset();

  std::string out, err;
  ReadAll(out_r.get(), err_r.get(), &out, &err);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Status::Error(Errno("waitpid for `" + line + "`"));
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return out;
  std::string how = WIFEXITED(wstatus) ? "exited with " + std::to_string(WEXITSTATUS(wstatus))
                                       : "killed by signal " + std::to_string(WTERMSIG(wstatus));
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return Status::Error("`" + line + "` " + how + (err.empty() ? "" : ": " + err));
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<unsigned> counter{0};
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "-%x-%x", static_cast<unsigned>(::getpid()), counter.fetch_add(1));
  const size_t kMaxLen = 15;  // IFNAMSIZ - 1
  std::string s(suffix);
  size_t room = s.size() < kMaxLen ? kMaxLen - s.size() : 0;
  return prefix.substr(0, room) + s;
}

Status EnterNetns(const std::string& name) {
  const std::string path = "/run/netns/" + name;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::Error(Errno("open " + path));
  if (::setns(fd.get(), CLONE_NEWNET) != 0) return Status::Error(Errno("setns " + path));
  return Status::Ok();
}

StatusOr<std::unique_ptr<Netns>> Netns::Create(const std::string& name) {
  (void)RunCommand({"ip", "netns", "del", name});  // a stale one; usually there is none
  auto added = RunCommand({"ip", "netns", "add", name});
  if (!added.ok()) return added.status();
  std::unique_ptr<Netns> ns(new Netns(name));  // from here on the destructor cleans up
  auto lo = RunCommand({"ip", "-n", name, "link", "set", "lo", "up"});
  if (!lo.ok()) return lo.status();
  Status keep = InNetns(*ns, [] {
    // /proc/sys/net is the opening thread's namespace.
    UniqueFd fd(::open("/proc/sys/net/ipv6/conf/all/keep_addr_on_down", O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return errno == ENOENT ? Status::Ok() : Status::Error(Errno("open keep_addr_on_down"));
    if (::write(fd.get(), "1\n", 2) != 2) return Status::Error(Errno("write keep_addr_on_down"));
    return Status::Ok();
  });
  if (!keep.ok()) return keep;
  return ns;
}

Netns::~Netns() { (void)RunCommand({"ip", "netns", "del", name_}); }

Status Netns::Exec(const std::vector<std::string>& argv) const {
  std::vector<std::string> full = {"ip", "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  auto r = RunCommand(full);
  return r.ok() ? Status::Ok() : r.status();
}

StatusOr<std::unique_ptr<VethPair>> VethPair::Create(const std::string& a, const Netns* ns_a, const std::string& b,
                                                     const Netns* ns_b) {
  auto added = RunCommand({"ip", "link", "add", a, "type", "veth", "peer", "name", b});
  if (!added.ok()) return added.status();
  std::unique_ptr<VethPair> pair(new VethPair(a, ns_a ? ns_a->name() : "", b, ns_b ? ns_b->name() : ""));
  for (Side side : {Side::kA, Side::kB}) {
    const std::string& ns = side == Side::kA ? pair->ns_a_ : pair->ns_b_;
    if (!ns.empty()) {
      auto moved = RunCommand({"ip", "link", "set", pair->name(side), "netns", ns});
      if (!moved.ok()) return moved.status();
    }
  }
  for (Side side : {Side::kA, Side::kB}) {
    Status up = pair->Ip(side, {"link", "set", "dev", pair->name(side), "up"});
    if (!up.ok()) return up;
  }
  Status up = pair->WaitUp();
  if (!up.ok()) return up;
  return pair;
}

VethPair::~VethPair() {
  if (!Ip(Side::kA, {"link", "del", a_}).ok()) (void)Ip(Side::kB, {"link", "del", b_});
}

Status VethPair::Ip(Side side, std::vector<std::string> args) const {
  const std::string& ns = side == Side::kA ? ns_a_ : ns_b_;
  std::vector<std::string> argv = {"ip"};
  if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv);
  return r.ok() ? Status::Ok() : r.status();
}

Status VethPair::AddAddress(Side side, const std::string& cidr) const {
  std::vector<std::string> args = {"addr", "add", cidr, "dev", name(side)};
  if (cidr.find(':') != std::string::npos) args.push_back("nodad");
  return Ip(side, std::move(args));
}

Status VethPair::SetUp(Side side, bool up) const {
  Status set = Ip(side, {"link", "set", "dev", name(side), up ? "up" : "down"});
  return set.ok() && up ? WaitUp() : set;
}

Status VethPair::WaitUp(int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last;
  while (true) {
    bool all_up = true;
    for (Side side : {Side::kA, Side::kB}) {
      const std::string& ns = side == Side::kA ? ns_a_ : ns_b_;
      std::vector<std::string> argv = {"ip", "-br"};
      if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
      argv.insert(argv.end(), {"link", "show", "dev", name(side)});
      auto out = RunCommand(argv);  // "NAME@PEER  UP  MAC <FLAGS>"
      if (!out.ok()) return out.status();
      last = *out;
      std::istringstream words(*out);
      std::string dev, state;
      words >> dev >> state;
      if (state != "UP") {
        all_up = false;
        break;
      }
    }
    if (all_up) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) return Status::Error("veth not up: " + last);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StatusOr<int> VethPair::Ifindex(Side side) const {
  const std::string& ns = side == Side::kA ? ns_a_ : ns_b_;
  const std::string& dev = name(side);
  auto lookup = [&dev]() -> StatusOr<int> {
    unsigned index = ::if_nametoindex(dev.c_str());
    if (index == 0) return Status::Error(Errno("if_nametoindex " + dev));
    return static_cast<int>(index);
  };
  if (ns.empty()) return lookup();
  return InNetns(ns, lookup);
}

const Status& NetnsAvailable() {
  static const Status available = [] {
    if (::geteuid() != 0) return Status::Error("not root (network namespaces need CAP_SYS_ADMIN)");
    auto probe = Netns::Create(UniqueName("nfprobe"));
    if (!probe.ok()) return Status::Error("cannot create a network namespace: " + probe.status().message());
    return Status::Ok();
  }();
  return available;
}

}  // namespace netfence::nettest
