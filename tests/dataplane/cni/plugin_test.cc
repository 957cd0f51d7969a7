// The netfence CNI plugin run in-process (RunPlugin) against a scripted agent: what it prints,
// which error codes it returns, and exactly what it asks the agent. The FailClosed tests need root
// (a network namespace with a real veth) and skip otherwise; the binary test runs netfence-cni.
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

#include "dataplane/agent/protocol.h"
#include "dataplane/common/netdev.h"
#include "dataplane/common/unique_fd.h"
#include "tests/testing/netns.h"
#include "tests/testing/require_netns.h"

namespace netfence::cni {
namespace {

using json = nlohmann::json;
using Strings = std::vector<std::string>;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

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
json BridgeResult100(const std::string& host_veth = "veth1a2b3c4d", const std::string& bridge = "cni0") {
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
json BridgeResult040() {
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

json Conf(const std::string& version, const std::string& socket, const json& prev = nullptr) {
  json conf = {{"cniVersion", version},
               {"name", "k8s-pod-network"},
               {"type", "netfence"},
               {"socket", socket},
               {"timeoutSeconds", 2}};
  if (!prev.is_null()) conf["prevResult"] = prev;
  return conf;
}

Env MakeEnv(const std::string& command) {
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

PluginRun RunWith(const Env& env, const std::string& stdin_text) {
  PluginRun r;
  r.status = RunPlugin(env, stdin_text, &r.out, &r.log);
  if (!r.out.empty()) r.result = json::parse(r.out, nullptr, false);
  return r;
}
PluginRun RunWith(const Env& env, const json& conf) { return RunWith(env, conf.dump()); }

// Checks that `r` is a CNI error result with `code`, in the layout the spec prescribes, and returns
// its msg.
std::string ExpectError(const PluginRun& r, int code, const std::string& cni_version = "1.0.0") {
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

// --- VERSION and the environment -----------------------------------------------------------

TEST(CniPluginTest, VersionEchoesTheRequestedVersion) {
  PluginRun r = RunWith({{"CNI_COMMAND", "VERSION"}}, std::string(R"({"cniVersion":"0.4.0"})"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.result, json::parse(R"({"cniVersion":"0.4.0",
      "supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"));

  for (const std::string& stdin_text : {std::string(""), std::string("not json"), std::string("{}")}) {
    PluginRun bare = RunWith({{"CNI_COMMAND", "VERSION"}}, stdin_text);
    EXPECT_EQ(bare.status, 0);
    EXPECT_EQ(bare.result.value("cniVersion", ""), "1.1.0") << stdin_text;
    EXPECT_EQ(bare.result["supportedVersions"].size(), 5u);
  }
}

TEST(CniPluginTest, MissingOrUnknownCommand) {
  NoAgent agent;
  std::string conf = Conf("1.0.0", agent.socket()).dump();
  std::string msg = ExpectError(RunWith({}, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_COMMAND")) << msg;

  Env env = MakeEnv("FROB");
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "unknown CNI_COMMAND: FROB")) << msg;
  env["CNI_COMMAND"] = "add";  // commands are case-sensitive
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "unknown CNI_COMMAND: add")) << msg;
}

TEST(CniPluginTest, MissingVariablesAreNamedPerCommand) {
  NoAgent agent;
  std::string conf = Conf("1.0.0", agent.socket(), BridgeResult100()).dump();
  struct Case {
    const char* command;
    Strings unset;
    Strings named;      // must appear in msg
    Strings not_named;  // must not
  };
  const Case cases[] = {
      {"ADD", {"CNI_NETNS"}, {"CNI_NETNS"}, {"CNI_CONTAINERID", "CNI_IFNAME"}},
      {"ADD", {"CNI_CONTAINERID"}, {"CNI_CONTAINERID"}, {"CNI_NETNS"}},
      {"ADD", {"CNI_IFNAME"}, {"CNI_IFNAME"}, {"CNI_NETNS"}},
      {"ADD", {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}, {}},
      {"CHECK", {"CNI_NETNS"}, {"CNI_NETNS"}, {}},
      {"CHECK", {"CNI_IFNAME"}, {"CNI_IFNAME"}, {}},
      {"DEL", {"CNI_CONTAINERID"}, {"CNI_CONTAINERID"}, {}},
      {"DEL", {"CNI_IFNAME", "CNI_NETNS"}, {"CNI_IFNAME"}, {"CNI_NETNS"}},
  };
  for (const Case& c : cases) {
    Env env = MakeEnv(c.command);
    for (const std::string& name : c.unset) env[name] = "";  // empty is unset, as in libcni
    std::string msg = ExpectError(RunWith(env, conf), 4);
    for (const std::string& name : c.named) EXPECT_TRUE(Contains(msg, name)) << c.command << ": " << msg;
    for (const std::string& name : c.not_named) EXPECT_FALSE(Contains(msg, name)) << c.command << ": " << msg;
  }
}

TEST(CniPluginTest, DelNeedsNoNetnsAndStatusAndGcNeedNoContainer) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  Env del = MakeEnv("DEL");
  del.erase("CNI_NETNS");
  PluginRun r = RunWith(del, Conf("1.0.0", agent.socket()));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");

  for (const char* command : {"STATUS", "GC"}) {
    PluginRun s = RunWith({{"CNI_COMMAND", command}}, Conf("1.1.0", agent.socket()));
    EXPECT_EQ(s.status, 0) << command << ": " << s.out;
    EXPECT_EQ(s.out, "") << command;
  }
  ASSERT_EQ(agent.requests().size(), 3u);
  EXPECT_EQ(agent.requests()[0].op, "del");
  EXPECT_EQ(agent.requests()[0].netns, "");
  EXPECT_EQ(agent.requests()[1].op, "status");
  EXPECT_EQ(agent.requests()[2].op, "gc");
}

TEST(CniPluginTest, InvalidVariableValues) {
  NoAgent agent;
  std::string conf = Conf("1.0.0", agent.socket(), BridgeResult100()).dump();
  Env env = MakeEnv("ADD");
  env["CNI_CONTAINERID"] = "bad/id";
  std::string msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_CONTAINERID: invalid characters in containerID")) << msg;

  env = MakeEnv("DEL");
  env["CNI_IFNAME"] = "eth0-much-too-long";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_IFNAME: interface name is too long")) << msg;

  env = MakeEnv("ADD");
  env["CNI_ARGS"] = "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=\xff\xfe";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_ARGS is not valid UTF-8")) << msg;

  env = MakeEnv("ADD");
  env["CNI_NETNS"] = "/run/netns/\xc0\x80";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_NETNS is not valid UTF-8")) << msg;
}

// --- configuration errors ------------------------------------------------------------------

TEST(CniPluginTest, MalformedConfigurationIsCode6) {
  for (const char* command : {"ADD", "DEL", "CHECK", "STATUS", "GC"}) {
    std::string msg = ExpectError(RunWith(MakeEnv(command), std::string("{\"cniVersion\": \"1.0.0\",")), 6, "1.1.0");
    EXPECT_TRUE(Contains(msg, "decoding the network configuration")) << msg;
  }
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), std::string("[\"a\"]")), 6, "1.1.0");
  EXPECT_TRUE(Contains(msg, "must be a JSON object")) << msg;
}

TEST(CniPluginTest, InvalidConfigurationIsCode7NamingTheField) {
  NoAgent agent;
  struct Case {
    json patch;
    const char* needle;
  };
  const Case cases[] = {
      {{{"name", nullptr}}, "missing field 'name'"},
      {{{"type", 42}}, "field 'type' must be a non-empty string"},
      {{{"socket", 1}}, "field 'socket'"},
      {{{"timeoutSeconds", 0}}, "field 'timeoutSeconds'"},
      {{{"timeoutSeconds", "5"}}, "field 'timeoutSeconds'"},
      {{{"prevResult", {1, 2}}}, "field 'prevResult' must be an object"},
      {{{"prevResult", {{"ips", {{{"address", "10.1.1.1"}}}}}}}, "'prevResult.ips[0].address'"},
      {{{"prevResult", {{"interfaces", {{{"name", 5}}}}}}}, "'prevResult.interfaces[0].name'"},
  };
  for (const Case& c : cases) {
    json conf = Conf("1.0.0", agent.socket(), BridgeResult100());
    conf.merge_patch(c.patch);
    std::string msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 7);
    EXPECT_TRUE(Contains(msg, c.needle)) << c.patch.dump() << " -> " << msg;
  }
}

TEST(CniPluginTest, UnsupportedVersionIsCode1) {
  NoAgent agent;
  json conf = Conf("2.0.0", agent.socket(), BridgeResult100());
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 1, "1.1.0");
  EXPECT_TRUE(Contains(msg, "incompatible CNI versions")) << msg;
  EXPECT_TRUE(Contains(msg, "\"2.0.0\"")) << msg;
  EXPECT_TRUE(Contains(msg, "0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0")) << msg;

  conf.erase("cniVersion");
  msg = ExpectError(RunWith(MakeEnv("DEL"), conf), 1, "1.1.0");
  EXPECT_TRUE(Contains(msg, "no cniVersion")) << msg;

  conf["cniVersion"] = 1;
  msg = ExpectError(RunWith(MakeEnv("DEL"), conf), 7, "1.1.0");
  EXPECT_TRUE(Contains(msg, "field 'cniVersion' must be a string")) << msg;
}

TEST(CniPluginTest, CommandsNewerThanTheConfigVersionAreCode1) {
  NoAgent agent;
  std::string msg =
      ExpectError(RunWith(MakeEnv("CHECK"), Conf("0.3.1", agent.socket(), BridgeResult040())), 1, "0.3.1");
  EXPECT_TRUE(Contains(msg, "config version 0.3.1 does not allow CHECK")) << msg;
  msg = ExpectError(RunWith({{"CNI_COMMAND", "GC"}}, Conf("1.0.0", agent.socket())), 1);
  EXPECT_TRUE(Contains(msg, "does not allow GC")) << msg;
  msg = ExpectError(RunWith({{"CNI_COMMAND", "STATUS"}}, Conf("1.0.0", agent.socket())), 1);
  EXPECT_TRUE(Contains(msg, "does not allow STATUS")) << msg;
}

// --- ADD ---------------------------------------------------------------------------------

TEST(CniPluginTest, AddWithoutPrevResultSaysItIsChained) {
  NoAgent agent;
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket())), 7);
  EXPECT_TRUE(Contains(msg, "prevResult")) << msg;
  EXPECT_TRUE(Contains(msg, "chained plugin")) << msg;
  EXPECT_TRUE(Contains(msg, "bridge")) << msg;
  EXPECT_TRUE(Contains(msg, "ptp")) << msg;
}

TEST(CniPluginTest, AddWithoutPodIdentityNamesTheKeys) {
  NoAgent agent;
  json conf = Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv"), nettest::UniqueName("nfb")));
  Env env = MakeEnv("ADD");
  env["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_UID=1";
  std::string msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "K8S_POD_NAMESPACE")) << msg;
  EXPECT_TRUE(Contains(msg, "K8S_POD_NAME")) << msg;

  env["CNI_ARGS"] = "K8S_POD_NAMESPACE=shop";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_FALSE(Contains(msg, "K8S_POD_NAMESPACE")) << msg;
  EXPECT_TRUE(Contains(msg, "K8S_POD_NAME")) << msg;

  env["CNI_ARGS"] = "K8S_POD_NAMESPACE=shop;junk";
  msg = ExpectError(RunWith(env, conf), 4);
  EXPECT_TRUE(Contains(msg, "CNI_ARGS: invalid pair 'junk'")) << msg;
}

TEST(CniPluginTest, AddSendsThePodAndPassesPrevResultThrough100) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json prev = BridgeResult100();
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), prev));
  ASSERT_EQ(r.status, 0) << r.out << r.log;
  EXPECT_EQ(r.result, prev);  // unchanged, every key kept
  EXPECT_EQ(r.out.back(), '\n');

  auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 1u);
  const agent::Request& q = requests[0];
  EXPECT_EQ(q.op, "add");
  EXPECT_EQ(q.container_id, "c0ffee01");
  EXPECT_EQ(q.ifname, "eth0");
  EXPECT_EQ(q.netns, "/var/run/netns/cni-1234");
  EXPECT_EQ(q.pod_namespace, "shop");
  EXPECT_EQ(q.pod_name, "cart-7d9");
  EXPECT_EQ(q.host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(q.ips, (Strings{"10.22.0.5/16"}));
  EXPECT_TRUE(q.valid.empty());
  EXPECT_TRUE(agent.malformed().empty());
  EXPECT_TRUE(Contains(r.log, "generation 7")) << r.log;
}

TEST(CniPluginTest, AddPassesA040ResultThroughWithEveryKey) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json prev = BridgeResult040();
  prev["someFutureKey"] = {{"kept", true}};
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("0.4.0", agent.socket(), prev));
  ASSERT_EQ(r.status, 0) << r.out << r.log;
  EXPECT_EQ(r.result, prev);
  ASSERT_EQ(agent.requests().size(), 1u);
  EXPECT_EQ(agent.requests()[0].host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(agent.requests()[0].ips, (Strings{"10.22.0.5/16", "fd00:22::5/64"}));
}

TEST(CniPluginTest, AddOutputCarriesTheConfigVersion) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json prev = BridgeResult100();
  prev.erase("cniVersion");  // libcni parses prevResult in the configuration's version
  PluginRun r = RunWith(MakeEnv("ADD"), Conf("1.1.0", agent.socket(), prev));
  ASSERT_EQ(r.status, 0) << r.out << r.log;
  json expected = prev;
  expected["cniVersion"] = "1.1.0";
  EXPECT_EQ(r.result, expected);
}

TEST(CniPluginTest, AddWithNoAgentIsTryAgainLater) {
  NoAgent agent;
  std::string veth = nettest::UniqueName("nfv");  // exists nowhere: nothing to set down here
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), BridgeResult100(veth))), 11);
  EXPECT_TRUE(Contains(msg, "pod shop/cart-7d9")) << msg;
  EXPECT_TRUE(Contains(msg, agent.socket())) << msg;
  EXPECT_TRUE(Contains(msg, "try again later")) << msg;
  EXPECT_TRUE(Contains(msg, "no host-side veth")) << msg;
}

TEST(CniPluginTest, AddRefusedCarriesTheAgentsCodeAndMessage) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  agent.Refuse(agent::kUnknownPod, "pod shop/cart-7d9: unknown to the tables of generation 7");
  PluginRun r =
      RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv"))));
  std::string msg = ExpectError(r, agent::kUnknownPod);
  EXPECT_TRUE(Contains(msg, "unknown to the tables of generation 7")) << msg;
  EXPECT_TRUE(Contains(msg, "pod shop/cart-7d9")) << msg;
  EXPECT_TRUE(Contains(msg, agent.socket())) << msg;
  EXPECT_EQ(agent.requests().size(), 1u);

  agent::Response no_code;  // ok=false and no code: still an error, never a success
  no_code.message = "confused";
  agent.Script(FakeAgent::Mode::kAnswer, no_code);
  r = RunWith(MakeEnv("ADD"), Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv"))));
  msg = ExpectError(r, 999);
  EXPECT_TRUE(Contains(msg, "confused")) << msg;
}

TEST(CniPluginTest, AddWhenTheAgentHangsUpOrNeverAnswers) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json conf = Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv")));
  agent.Script(FakeAgent::Mode::kCloseWithoutAnswer);
  std::string msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 11);
  EXPECT_TRUE(Contains(msg, "closed the connection without answering")) << msg;

  agent.Script(FakeAgent::Mode::kNeverAnswer);
  conf["timeoutSeconds"] = 1;
  auto start = std::chrono::steady_clock::now();
  msg = ExpectError(RunWith(MakeEnv("ADD"), conf), 11);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(Contains(msg, "did not answer within 1000 ms")) << msg;
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(agent.requests().size(), 2u);
}

// --- DEL, CHECK, STATUS, GC ----------------------------------------------------------------

TEST(CniPluginTest, DelWithNoAgentSucceedsAndIsIdempotent) {
  NoAgent agent;
  for (int i = 0; i < 2; ++i) {
    PluginRun r = RunWith(MakeEnv("DEL"), Conf("1.0.0", agent.socket(), BridgeResult100()));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(Contains(r.log, "unreachable")) << r.log;
    EXPECT_TRUE(Contains(r.log, agent.socket())) << r.log;
  }
}

TEST(CniPluginTest, DelSendsWhatItKnows) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  PluginRun with_prev = RunWith(MakeEnv("DEL"), Conf("1.0.0", agent.socket(), BridgeResult100()));
  EXPECT_EQ(with_prev.status, 0) << with_prev.out;
  Env bare = MakeEnv("DEL");
  bare.erase("CNI_ARGS");
  bare.erase("CNI_NETNS");
  PluginRun without = RunWith(bare, Conf("1.0.0", agent.socket()));
  EXPECT_EQ(without.status, 0) << without.out;
  // A malformed prevResult or CNI_ARGS does not stop a DEL.
  bare["CNI_ARGS"] = "junk";
  PluginRun broken = RunWith(bare, Conf("1.0.0", agent.socket(), {{"interfaces", 3}}));
  EXPECT_EQ(broken.status, 0) << broken.out;
  EXPECT_TRUE(Contains(broken.log, "ignoring prevResult")) << broken.log;
  EXPECT_TRUE(Contains(broken.log, "ignoring CNI_ARGS")) << broken.log;

  auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].op, "del");
  EXPECT_EQ(requests[0].container_id, "c0ffee01");
  EXPECT_EQ(requests[0].ifname, "eth0");
  EXPECT_EQ(requests[0].pod_namespace, "shop");
  EXPECT_EQ(requests[0].pod_name, "cart-7d9");
  EXPECT_EQ(requests[0].host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(requests[1].op, "del");
  EXPECT_EQ(requests[1].container_id, "c0ffee01");
  EXPECT_EQ(requests[1].pod_name, "");
  EXPECT_TRUE(requests[1].host_interfaces.empty());
  EXPECT_TRUE(requests[2].host_interfaces.empty());
}

TEST(CniPluginTest, DelRefusedIsAnError) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  agent.Refuse(agent::kProgrammingFailed, "detaching veth1a2b3c4d: device busy");
  std::string msg = ExpectError(RunWith(MakeEnv("DEL"), Conf("1.0.0", agent.socket())), agent::kProgrammingFailed);
  EXPECT_TRUE(Contains(msg, "device busy")) << msg;
}

TEST(CniPluginTest, Check) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json conf = Conf("1.0.0", agent.socket(), BridgeResult100());
  PluginRun ok = RunWith(MakeEnv("CHECK"), conf);
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_EQ(ok.out, "");
  ASSERT_EQ(agent.requests().size(), 1u);
  agent::Request q = agent.requests()[0];
  EXPECT_EQ(q.op, "check");
  EXPECT_EQ(q.container_id, "c0ffee01");
  EXPECT_EQ(q.netns, "/var/run/netns/cni-1234");
  EXPECT_EQ(q.pod_name, "cart-7d9");
  EXPECT_EQ(q.host_interfaces, (Strings{"cni0", "veth1a2b3c4d"}));
  EXPECT_EQ(q.ips, (Strings{"10.22.0.5/16"}));

  agent.Refuse(agent::kNotEnforced, "veth1a2b3c4d has no XDP program");
  std::string msg = ExpectError(RunWith(MakeEnv("CHECK"), conf), agent::kNotEnforced);
  EXPECT_TRUE(Contains(msg, "veth1a2b3c4d has no XDP program")) << msg;

  NoAgent none;
  msg = ExpectError(RunWith(MakeEnv("CHECK"), Conf("1.0.0", none.socket(), BridgeResult100())), 11);
  EXPECT_TRUE(Contains(msg, none.socket())) << msg;

  msg = ExpectError(RunWith(MakeEnv("CHECK"), Conf("1.0.0", none.socket())), 7);
  EXPECT_TRUE(Contains(msg, "prevResult")) << msg;
}

TEST(CniPluginTest, Status) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  Env env = {{"CNI_COMMAND", "STATUS"}};
  PluginRun ok = RunWith(env, Conf("1.1.0", agent.socket()));
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_EQ(ok.out, "");

  agent.Refuse(agent::kNotEnforced, "no generation programmed yet");
  std::string msg = ExpectError(RunWith(env, Conf("1.1.0", agent.socket())), 50, "1.1.0");
  EXPECT_TRUE(Contains(msg, "plugin not available")) << msg;
  EXPECT_TRUE(Contains(msg, "no generation programmed yet")) << msg;

  NoAgent none;
  msg = ExpectError(RunWith(env, Conf("1.1.0", none.socket())), 50, "1.1.0");
  EXPECT_TRUE(Contains(msg, "plugin not available")) << msg;
  EXPECT_TRUE(Contains(msg, none.socket())) << msg;
}

TEST(CniPluginTest, GcSendsTheValidAttachments) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  Env env = {{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/opt/cni/bin"}};
  json conf = Conf("1.1.0", agent.socket());
  conf["cni.dev/valid-attachments"] = {{{"containerID", "c1"}, {"ifname", "eth0"}},
                                       {{"containerID", "c2"}, {"ifname", "eth0"}}};
  EXPECT_EQ(RunWith(env, conf).status, 0);
  json legacy = Conf("1.1.0", agent.socket());
  legacy["cni.dev/attachments"] = {{{"containerID", "c3"}, {"ifname", "net1"}}};
  EXPECT_EQ(RunWith(env, legacy).status, 0);
  EXPECT_EQ(RunWith(env, Conf("1.1.0", agent.socket())).status, 0);  // none valid: libcni omits the key

  auto requests = agent.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].op, "gc");
  EXPECT_EQ(requests[0].valid, (std::vector<agent::Attachment>{{"c1", "eth0"}, {"c2", "eth0"}}));
  EXPECT_EQ(requests[1].valid, (std::vector<agent::Attachment>{{"c3", "net1"}}));
  EXPECT_TRUE(requests[2].valid.empty());

  conf["cni.dev/valid-attachments"] = {{{"containerID", 5}, {"ifname", "eth0"}}};
  std::string msg = ExpectError(RunWith(env, conf), 7, "1.1.0");
  EXPECT_TRUE(Contains(msg, "cni.dev/valid-attachments[0].containerID")) << msg;

  agent.Refuse(agent::kBadRequest, "gc already running");
  msg = ExpectError(RunWith(env, legacy), agent::kBadRequest, "1.1.0");
  EXPECT_TRUE(Contains(msg, "gc already running")) << msg;

  NoAgent none;
  msg = ExpectError(RunWith(env, Conf("1.1.0", none.socket())), 11, "1.1.0");
  EXPECT_TRUE(Contains(msg, none.socket())) << msg;
}

// --- robustness ----------------------------------------------------------------------------

TEST(CniPluginTest, ArbitraryInputNeverCrashesAndErrorsAreJson) {
  NoAgent agent;
  json good = Conf("1.0.0", agent.socket(), BridgeResult100(nettest::UniqueName("nfv")));
  std::string text = good.dump();
  Strings inputs = {"",
                    "{",
                    "}",
                    "null",
                    "[[[[",
                    "{\"a\":\"\\ud800\"}",
                    "{\"a\":1e999}",
                    "\xff\xfe\x00",
                    "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"interfaces\":[{}]}}"};
  for (size_t cut = 0; cut < text.size(); cut += 7) inputs.push_back(text.substr(0, cut));  // truncations
  std::string flipped = text;
  for (size_t i = 0; i < flipped.size(); i += 13) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  inputs.push_back(flipped);
  for (const char* command : {"ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"}) {
    for (const std::string& input : inputs) {
      PluginRun r = RunWith(MakeEnv(command), input);
      if (r.status == 0) continue;
      EXPECT_EQ(r.status, 1);
      ASSERT_TRUE(r.result.is_object()) << command << " on '" << input << "' printed: " << r.out;
      EXPECT_TRUE(r.result["code"].is_number_integer()) << r.out;
    }
  }
}

// --- fail closed (root: a namespace standing in for the node, with a real veth) -------------

class CniFailClosedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_NETNS();
    auto node = nettest::Netns::Create(nettest::UniqueName("nfcn"));
    ASSERT_TRUE(node.ok()) << node.status().message();
    node_ = std::move(*node);
    auto pod = nettest::Netns::Create(nettest::UniqueName("nfcp"));
    ASSERT_TRUE(pod.ok()) << pod.status().message();
    pod_ = std::move(*pod);
    host_veth_ = nettest::UniqueName("nfh");
    auto veth = nettest::VethPair::Create(host_veth_, node_.get(), nettest::UniqueName("nfe"), pod_.get());
    ASSERT_TRUE(veth.ok()) << veth.status().message();
    veth_ = std::move(*veth);
    bridge_ = nettest::UniqueName("nfbr");
    Status br = node_->Exec({"ip", "link", "add", bridge_, "type", "bridge"});
    ASSERT_TRUE(br.ok()) << br.message();
    Status up = node_->Exec({"ip", "link", "set", bridge_, "up"});
    ASSERT_TRUE(up.ok()) << up.message();
    ASSERT_TRUE(IsUp(host_veth_));
    ASSERT_TRUE(IsUp(bridge_));
  }

  void TearDown() override {
    veth_.reset();
    pod_.reset();
    node_.reset();  // takes the bridge with it
  }

  // RunPlugin as the runtime would run it on this node (in the node's namespace).
  PluginRun RunOnNode(const std::string& command, const std::string& socket, bool with_prev = true) {
    json prev = BridgeResult100(host_veth_, bridge_);
    PluginRun r;
    bool ran = nettest::InNetns(*node_, [&] {
      r = RunWith(MakeEnv(command), Conf("1.0.0", socket, with_prev ? prev : json(nullptr)));
      return true;
    });
    EXPECT_TRUE(ran);
    return r;
  }

  bool IsUp(const std::string& name) {
    auto up = nettest::InNetns(*node_, [&] { return netdev::IsUp(name); });
    EXPECT_TRUE(up.ok()) << up.status().message();
    return up.ok() && *up;
  }

  std::unique_ptr<nettest::Netns> node_, pod_;
  std::unique_ptr<nettest::VethPair> veth_;
  std::string host_veth_, bridge_;
};

TEST_F(CniFailClosedTest, AddWithNoAgentSetsTheVethDown) {
  NoAgent agent;
  std::string msg = ExpectError(RunOnNode("ADD", agent.socket()), 11);
  EXPECT_FALSE(IsUp(host_veth_));
  EXPECT_TRUE(IsUp(bridge_)) << "the shared bridge is never touched";
  EXPECT_TRUE(Contains(msg, "pod's interface " + host_veth_ + " set down (fail closed)")) << msg;
  EXPECT_TRUE(Contains(msg, "pod shop/cart-7d9")) << msg;
  EXPECT_TRUE(Contains(msg, agent.socket())) << msg;
}

TEST_F(CniFailClosedTest, AddRefusedSetsTheVethDown) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  agent.Refuse(agent::kProgrammingFailed, "attaching XDP to " + host_veth_ + ": no space left");
  std::string msg = ExpectError(RunOnNode("ADD", agent.socket()), agent::kProgrammingFailed);
  EXPECT_FALSE(IsUp(host_veth_));
  EXPECT_TRUE(IsUp(bridge_));
  EXPECT_TRUE(Contains(msg, "no space left")) << msg;
  EXPECT_TRUE(Contains(msg, host_veth_ + " set down (fail closed)")) << msg;
  ASSERT_EQ(agent.requests().size(), 1u);
  EXPECT_EQ(agent.requests()[0].host_interfaces, (Strings{bridge_, host_veth_}));
}

TEST_F(CniFailClosedTest, AddAcceptedLeavesTheVethUp) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  PluginRun r = RunOnNode("ADD", agent.socket());
  EXPECT_EQ(r.status, 0) << r.out << r.log;
  EXPECT_TRUE(IsUp(host_veth_));
}

TEST_F(CniFailClosedTest, DelWithNoAgentSucceedsTwice) {
  NoAgent agent;
  for (int i = 0; i < 2; ++i) {
    PluginRun r = RunOnNode("DEL", agent.socket(), /*with_prev=*/i == 0);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(IsUp(host_veth_)) << "DEL does not touch interfaces";
}

// --- the binary ----------------------------------------------------------------------------

struct Exec {
  int status = -1;
  std::string out, err;
};

// Runs the program at `path` with exactly `env` and `stdin_text`, as a runtime does, in the
// network namespace /run/netns/NETNS when one is named.
Exec RunProgram(const std::string& path, const Env& env, const std::string& stdin_text, const std::string& netns = "") {
  Exec result;
  TempDir dir;
  if (!dir.ok()) return result;
  std::string in = dir.File("stdin"), out = dir.File("stdout"), err = dir.File("stderr");
  std::string netns_path = netns.empty() ? "" : "/run/netns/" + netns;
  std::ofstream(in) << stdin_text;
  Strings env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls from here on
    if (!netns_path.empty()) {
      int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) ::_exit(125);
    }
    int fd_in = ::open(in.c_str(), O_RDONLY);
    int fd_out = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fd_err = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd_in < 0 || fd_out < 0 || fd_err < 0) ::_exit(126);
    ::dup2(fd_in, 0);
    ::dup2(fd_out, 1);
    ::dup2(fd_err, 2);
    char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
    ::execve(path.c_str(), argv, envp.data());
    ::_exit(127);
  }
  int wstatus = 0;
  if (pid < 0 || ::waitpid(pid, &wstatus, 0) != pid) return result;
  result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  std::stringstream o, e;
  o << std::ifstream(out).rdbuf();
  e << std::ifstream(err).rdbuf();
  result.out = o.str();
  result.err = e.str();
  return result;
}

Exec RunBinary(const Env& env, const std::string& stdin_text, const std::string& netns = "") {
  return RunProgram(NETFENCE_CNI_BINARY, env, stdin_text, netns);
}

TEST(CniBinaryTest, VersionAndAnErrorThroughTheRealBinary) {
  Exec version = RunBinary({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion":"1.0.0"})");
  EXPECT_EQ(version.status, 0) << version.err;
  EXPECT_EQ(json::parse(version.out, nullptr, false),
            json::parse(R"({"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"));

  NoAgent agent;
  Exec add = RunBinary({{"CNI_COMMAND", "ADD"}, {"CNI_CONTAINERID", "c1"}, {"CNI_IFNAME", "eth0"}},
                       Conf("1.0.0", agent.socket(), BridgeResult100()).dump());
  EXPECT_EQ(add.status, 1);
  json error = json::parse(add.out, nullptr, false);
  ASSERT_TRUE(error.is_object()) << "the error goes to stdout: " << add.out;
  EXPECT_EQ(error.value("code", 0), 4);
  EXPECT_TRUE(Contains(error.value("msg", ""), "CNI_NETNS")) << add.out;
  EXPECT_TRUE(Contains(add.err, "netfence-cni: ADD failed (code 4)")) << "logs go to stderr: " << add.err;

  NoAgent none;
  Exec del = RunBinary(MakeEnv("DEL"), Conf("1.0.0", none.socket()).dump());
  EXPECT_EQ(del.status, 0) << del.out;
  EXPECT_EQ(del.out, "");
  EXPECT_TRUE(Contains(del.err, "unreachable")) << del.err;
}

// The real chain: Debian's reference bridge plugin (with host-local IPAM) makes the pod's veth,
// and netfence-cni consumes its actual result. Root; skips without the reference plugins.
class CniRealBridgeTest : public ::testing::Test {
 protected:
  static constexpr const char* kPluginDir = "/usr/lib/cni";

  void SetUp() override {
    NETFENCE_REQUIRE_NETNS();
    if (::access((std::string(kPluginDir) + "/bridge").c_str(), X_OK) != 0) {
      GTEST_SKIP() << "no reference CNI plugins in " << kPluginDir << " (Debian: containernetworking-plugins)";
    }
    ASSERT_TRUE(dir_.ok());
    auto node = nettest::Netns::Create(nettest::UniqueName("nfcn"));
    ASSERT_TRUE(node.ok()) << node.status().message();
    node_ = std::move(*node);
    auto pod = nettest::Netns::Create(nettest::UniqueName("nfcp"));
    ASSERT_TRUE(pod.ok()) << pod.status().message();
    pod_ = std::move(*pod);
    bridge_conf_ = {{"cniVersion", "1.0.0"},
                    {"name", "netfence"},
                    {"type", "bridge"},
                    {"bridge", nettest::UniqueName("nfbr")},
                    {"isGateway", true},
                    {"ipMasq", false},
                    {"ipam",
                     {{"type", "host-local"},
                      {"ranges", {{{{"subnet", "10.77.0.0/24"}, {"gateway", "10.77.0.1"}}}}},
                      {"dataDir", dir_.File("ipam")}}}};
  }

  void TearDown() override {
    if (node_ != nullptr && added_)
      RunProgram(std::string(kPluginDir) + "/bridge", ChainEnv("DEL"), bridge_conf_.dump(), node_->name());
    pod_.reset();
    node_.reset();  // takes the bridge and the veth with it
  }

  Env ChainEnv(const std::string& command) const {
    Env env = MakeEnv(command);
    env["CNI_NETNS"] = "/run/netns/" + pod_->name();
    env["CNI_PATH"] = kPluginDir;
    return env;
  }

  TempDir dir_;
  std::unique_ptr<nettest::Netns> node_, pod_;
  json bridge_conf_;
  bool added_ = false;
};

TEST_F(CniRealBridgeTest, ConsumesTheBridgeResultAndFailsClosedOnItsVeth) {
  Exec bridge = RunProgram(std::string(kPluginDir) + "/bridge", ChainEnv("ADD"), bridge_conf_.dump(), node_->name());
  added_ = true;
  ASSERT_EQ(bridge.status, 0) << bridge.out << bridge.err;
  json prev = json::parse(bridge.out, nullptr, false);
  ASSERT_TRUE(prev.is_object()) << bridge.out;

  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  json conf = Conf("1.0.0", agent.socket(), prev);
  Exec add = RunBinary(ChainEnv("ADD"), conf.dump(), node_->name());
  ASSERT_EQ(add.status, 0) << add.out << add.err;
  EXPECT_EQ(json::parse(add.out, nullptr, false), prev);

  ASSERT_EQ(agent.requests().size(), 1u);
  agent::Request q = agent.requests()[0];
  ASSERT_EQ(q.host_interfaces.size(), 2u) << prev.dump();
  std::string bridge_name = bridge_conf_["bridge"].get<std::string>();
  EXPECT_EQ(q.host_interfaces[0], bridge_name);
  std::string veth = q.host_interfaces[1];
  EXPECT_EQ(veth.rfind("veth", 0), 0u) << veth;
  EXPECT_EQ(q.ips, (Strings{"10.77.0.2/24"}));
  EXPECT_EQ(q.netns, "/run/netns/" + pod_->name());

  auto is_up = [&](const std::string& name) {
    auto up = nettest::InNetns(*node_, [&] { return netdev::IsUp(name); });
    EXPECT_TRUE(up.ok()) << up.status().message();
    return up.ok() && *up;
  };
  EXPECT_TRUE(is_up(veth));
  agent.Refuse(agent::kProgrammingFailed, "no room in the endpoint map");
  Exec refused = RunBinary(ChainEnv("ADD"), conf.dump(), node_->name());
  EXPECT_EQ(refused.status, 1);
  EXPECT_TRUE(Contains(refused.out, veth + " set down (fail closed)")) << refused.out;
  EXPECT_FALSE(is_up(veth));
  EXPECT_TRUE(is_up(bridge_name));

  Exec del = RunBinary(ChainEnv("DEL"), conf.dump(), node_->name());
  EXPECT_EQ(del.status, 1) << "the agent still refuses";
  agent.Script(FakeAgent::Mode::kAnswer, [] {
    agent::Response ok;
    ok.ok = true;
    return ok;
  }());
  del = RunBinary(ChainEnv("DEL"), conf.dump(), node_->name());
  EXPECT_EQ(del.status, 0) << del.out << del.err;
  EXPECT_EQ(agent.requests().back().op, "del");
}

}  // namespace
}  // namespace netfence::cni
