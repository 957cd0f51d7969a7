// SPDX-License-Identifier: Apache-2.0
// Test support for the netfence-cni tests: a scripted agent (a unix-socket peer speaking the
// agent protocol that records requests), the results the bridge plugin prints, configuration
// and environment builders, and an in-process runner of the plugin.
#pragma once

#include "dataplane/cni/plugin.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "common/base/unique_fd.h"
#include "dataplane/agent/protocol.h"
#include "dataplane/netdev/netdev.h"
#include "tests/testing/netns.h"
#include "tests/testing/require_netns.h"

namespace netfence::cni::testing_peer {

using json = nlohmann::json;
using Strings = std::vector<std::string>;

inline bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A temporary directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/nfcni-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  // A path inside the directory.
  std::string File(const std::string& name) const { return ok() ? path_ + "/" + name : ""; }

 private:
  std::string path_;
};

// The test peer: a one-thread unix-socket server speaking the agent protocol. It records every
// request (agent::RequestFromJson) and answers the scripted response, or closes without
// answering, or never answers (holds the connection until the client gives up).
class FakeAgent {
 public:
  enum class Mode { kAnswer, kCloseWithoutAnswer, kNeverAnswer };

  FakeAgent() : socket_(dir_.File("agent.sock")) {
    response_.ok = true;
    response_.generation = 7;
    int pipe_fds[2];
    if (!dir_.ok() || ::pipe2(pipe_fds, O_CLOEXEC) != 0) return;
    stop_read_.reset(pipe_fds[0]);
    stop_write_.reset(pipe_fds[1]);
    listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
    if (!listen_.valid() || ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_.get(), 16) != 0) {
      listen_.reset();
      return;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeAgent() {
    if (thread_.joinable()) {
      (void)!::write(stop_write_.get(), "x", 1);
      thread_.join();
    }
  }
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  bool ok() const { return thread_.joinable(); }
  const std::string& socket() const { return socket_; }
  void Script(Mode mode, agent::Response response = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = mode;
    if (mode == Mode::kAnswer) response_ = std::move(response);
  }
  void Refuse(int code, const std::string& message) {
    agent::Response r;
    r.code = code;
    r.message = message;
    r.generation = 7;
    Script(Mode::kAnswer, r);
  }
  std::vector<agent::Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  Strings malformed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return malformed_;
  }

 private:
  // Waits until fd is readable (data or EOF); false when asked to stop.
  bool WaitReadable(int fd) {
    while (true) {
      pollfd p[2] = {{fd, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      int n = ::poll(p, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || p[1].revents != 0) return false;
      if (p[0].revents != 0) return true;
    }
  }

  void Serve() {
    while (WaitReadable(listen_.get())) {
      UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn.valid()) Handle(conn.get());
    }
  }

  void Handle(int fd) {
    std::string in;
    while (in.find('\n') == std::string::npos) {
      if (!WaitReadable(fd)) return;
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    std::string line = in.substr(0, in.find('\n'));
    json j = json::parse(line, nullptr, false);
    auto request =
        j.is_discarded() ? StatusOr<agent::Request>(Status::Error("not JSON: " + line)) : agent::RequestFromJson(j);
    Mode mode;
    std::string answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (request.ok()) {
        requests_.push_back(*request);
      } else {
        malformed_.push_back(request.status().message());
      }
      mode = mode_;
      answer = agent::ToJson(response_).dump() + "\n";
    }
    if (mode == Mode::kAnswer) {
      (void)!::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    } else if (mode == Mode::kNeverAnswer) {
      WaitReadable(fd);  // until the client hangs up (EOF) or the test ends
    }
  }

  TempDir dir_;
  std::string socket_;
  UniqueFd listen_, stop_read_, stop_write_;
  mutable std::mutex mu_;
  Mode mode_ = Mode::kAnswer;
  agent::Response response_;
  std::vector<agent::Request> requests_;
  Strings malformed_;
  std::thread thread_;  // last: started once everything above exists
};

// What the bridge plugin (host-local IPAM) prints, 1.0.0 shape: bridge, host veth, pod's eth0.
inline json BridgeResult100(const std::string& host_veth = "veth1a2b3c4d", const std::string& bridge = "cni0") {
  return {{"cniVersion", "1.0.0"},
          {"interfaces",
           {{{"name", bridge}, {"mac", "8a:3e:1c:00:00:01"}},
            {{"name", host_veth}, {"mac", "9e:00:00:00:00:02"}},
            {{"name", "eth0"}, {"mac", "0a:58:0a:16:00:05"}, {"sandbox", "/var/run/netns/cni-1234"}}}},
          {"ips", {{{"interface", 2}, {"address", "10.22.0.5/16"}, {"gateway", "10.22.0.1"}}}},
          {"routes", {{{"dst", "0.0.0.0/0"}}}},
          {"dns", json::object()}};
}

// The 0.4.0 shape: ips[].version, two families, DNS filled in.
inline json BridgeResult040() {
  return json::parse(R"({
    "cniVersion": "0.4.0",
    "interfaces": [
      {"name": "cni0", "mac": "8a:3e:1c:00:00:01"},
      {"name": "veth1a2b3c4d", "mac": "9e:00:00:00:00:02"},
      {"name": "eth0", "mac": "0a:58:0a:16:00:05", "sandbox": "/var/run/netns/cni-1234"}
    ],
    "ips": [
      {"version": "4", "interface": 2, "address": "10.22.0.5/16", "gateway": "10.22.0.1"},
      {"version": "6", "interface": 2, "address": "fd00:22::5/64", "gateway": "fd00:22::1"}
    ],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.22.0.1"}],
    "dns": {"nameservers": ["10.96.0.10"], "search": ["shop.svc.cluster.local"]}
  })");
}

inline json Conf(const std::string& version, const std::string& socket, const json& prev = nullptr) {
  json conf = {{"cniVersion", version},
               {"name", "k8s-pod-network"},
               {"type", "netfence"},
               {"socket", socket},
               {"timeoutSeconds", 2}};
  if (!prev.is_null()) conf["prevResult"] = prev;
  return conf;
}

inline Env MakeEnv(const std::string& command) {
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", "c0ffee01"},
          {"CNI_NETNS", "/var/run/netns/cni-1234"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_ARGS",
           "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d9;K8S_POD_INFRA_CONTAINER_ID=c0ffee01;"
           "K8S_POD_UID=0b1e4c3a"},
          {"CNI_PATH", "/opt/cni/bin"}};
}

struct PluginRun {
  int status = -1;
  std::string out, log;
  json result;  // out parsed (discarded when out is not JSON, null when empty)
};

inline PluginRun RunWith(const Env& env, const std::string& stdin_text) {
  PluginRun r;
  r.status = RunPlugin(env, stdin_text, &r.out, &r.log);
  if (!r.out.empty()) r.result = json::parse(r.out, nullptr, false);
  return r;
}
inline PluginRun RunWith(const Env& env, const json& conf) { return RunWith(env, conf.dump()); }

// Checks that `r` is a CNI error result with `code`, in the layout the spec prescribes, and returns
// its msg.
inline std::string ExpectError(const PluginRun& r, int code, const std::string& cni_version = "1.0.0") {
  EXPECT_EQ(r.status, 1) << r.out << r.log;
  if (!r.result.is_object()) {
    ADD_FAILURE() << "not an error result: " << r.out;
    return "";
  }
  EXPECT_EQ(r.result.size(), 4u) << r.out;
  EXPECT_EQ(r.result.value("cniVersion", ""), cni_version) << r.out;
  EXPECT_EQ(r.result.value("code", -1), code) << r.out;
  EXPECT_TRUE(r.result.contains("details") && r.result["details"].is_string()) << r.out;
  std::string msg = r.result.value("msg", "");
  EXPECT_FALSE(msg.empty()) << r.out;
  EXPECT_TRUE(Contains(r.log, msg)) << "the error is logged too: " << r.log;
  return msg;
}

// A socket path nobody listens on (the directory exists, the socket does not).
class NoAgent {
 public:
  const std::string& socket() const { return socket_; }

 private:
  TempDir dir_;
  std::string socket_ = dir_.File("absent.sock");
};

}  // namespace netfence::cni::testing_peer
