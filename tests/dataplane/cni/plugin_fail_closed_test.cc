// SPDX-License-Identifier: Apache-2.0
// netfence-cni where it meets real interfaces and processes (root; skips otherwise): ADD fails
// closed on a real veth, the built binary behaves as a runtime expects, and the result of
// Debian's reference bridge plugin feeds the plugin in a real chain.
#include <functional>

#include "tests/dataplane/cni/plugin_test_util.h"

namespace netfence::cni {
namespace {

using namespace testing_peer;  // NOLINT: the test vocabulary

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
  PluginRun RunOnNode(const std::string& command, const std::string& socket, bool with_prev = true,
                      const std::function<void(json*)>& mangle = {}) {
    json prev = BridgeResult100(host_veth_, bridge_);
    if (mangle) mangle(&prev);
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

TEST_F(CniFailClosedTest, AddWithAMalformedPrevResultSetsTheVethDown) {
  FakeAgent agent;
  ASSERT_TRUE(agent.ok());
  PluginRun r = RunOnNode("ADD", agent.socket(), true, [](json* prev) { (*prev)["ips"][0]["address"] = 42; });
  std::string msg = ExpectError(r, agent::kCniInvalidConfig);
  EXPECT_TRUE(Contains(msg, "prevResult.ips[0].address")) << msg;
  EXPECT_TRUE(Contains(msg, "pod's interface " + host_veth_ + " set down (fail closed)")) << msg;
  EXPECT_FALSE(IsUp(host_veth_));
  EXPECT_TRUE(IsUp(bridge_));
  EXPECT_TRUE(agent.requests().empty()) << "nothing to ask the agent with an unreadable result";
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
