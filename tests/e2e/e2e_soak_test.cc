// SPDX-License-Identifier: Apache-2.0
// Soak with a verdict audit: two nodes, two clients, two servers and an outsider; steady
// traffic while the agents are killed and restarted 10 times (SIGTERM and SIGKILL, both
// nodes), the controller twice, with policy changes in between (NETFENCE_SOAK_ROUNDS=N: N
// agent restarts, for a longer soak). Every packet's fate is checked
// against its expected verdict:
//   - allowed: echoes on long-lived TCP and UDP sessions client -> server:80 (none may break),
//     and a new TCP connection every round (each must open and echo);
//   - denied: the outsider's UDP datagrams to every server's port 9999 (none may arrive, a sink
//     counts them) and its TCP connections to server:80 (none may open);
//   - every TCP connection made (long-lived and new, by its 5-tuple) has a record in the
//     nodes' flow logs.
// The counts are printed (for the record) and asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "tests/e2e/cluster.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/flow_logs.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/require_netns.h"

namespace netfence::e2e {
namespace {

using testing::NamespaceYaml;
using testing::PolicyYaml;
using Clock = std::chrono::steady_clock;

struct PodSpec {
  const char* name;
  const char* app;
  const char* node;
  const char* ip;
};
constexpr PodSpec kPods[] = {{"c1", "client", "node-1", "10.78.3.11"},
                             {"c2", "client", "node-2", "10.78.3.12"},
                             {"s1", "server", "node-1", "10.78.3.21"},
                             {"s2", "server", "node-2", "10.78.3.22"},
                             {"o1", "other", "node-1", "10.78.3.31"}};
const char* const kClients[] = {"x/c1", "x/c2"};
const char* const kServers[] = {"x/s1", "x/s2"};

std::string PodsYaml() {
  std::string y = NamespaceYaml("x", "ns: x");
  for (const PodSpec& p : kPods) {
    y += std::string("apiVersion: v1\nkind: Pod\nmetadata: {name: ") + p.name +
         ", namespace: x, labels: {app: " + p.app + "}}\nspec: {nodeName: " + p.node +
         ", containers: [{name: c}]}\nstatus: {podIP: \"" + p.ip + "\"}\n---\n";
  }
  return y;
}

const std::string kServerIn =
    PolicyYaml("x", "server-in",
               "  podSelector: {matchLabels: {app: server}}\n"
               "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}],\n"
               "             ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]}]");
// The change made and undone between restarts: the outsider may reach port 81.
const std::string kOther81 = PolicyYaml("x", "other-81",
                                        "  podSelector: {matchLabels: {app: server}}\n"
                                        "  ingress: [{from: [{podSelector: {matchLabels: {app: other}}}],\n"
                                        "             ports: [{protocol: TCP, port: 81}]}]");

using Tuple = std::tuple<std::string, uint16_t, std::string>;  // client ip, source port, server ip (TCP :80)

class Traffic {
 public:
  explicit Traffic(Cluster& c) : c_(c) {
    for (const char* client : kClients) {
      for (const char* server : kServers) {
        auto t = nettest::TcpSession::Open(c.PodNetns(client), c.PodAddress(server), 80, 3000);
        auto u = nettest::UdpSession::Open(c.PodNetns(client), c.PodAddress(server), 80, 3000);
        if (!t.ok() || !u.ok()) return;
        made_.insert({c.PodAddress(client), (*t)->local_port(), c.PodAddress(server)});
        tcp_.push_back(std::move(t).value());
        udp_.push_back(std::move(u).value());
      }
    }
    for (const char* server : kServers) {
      auto sink = UdpSink::Bind(c.PodNetns(server), c.PodAddress(server), 9999);
      if (!sink.ok()) return;
      sinks_.push_back(std::move(sink).value());
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~Traffic() { Stop(); }
  bool ready() const { return tcp_.size() == 4 && sinks_.size() == 2; }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::atomic<uint64_t> echoes{0}, broken{0}, opened{0}, open_failed{0}, denied_sent{0}, denied_opened{0};
  std::atomic<bool> agent_down{false};         // set by the test around a restart
  std::atomic<uint64_t> echoes_while_down{0};  // of `echoes`: while an agent was away
  uint64_t DeniedDelivered() {
    uint64_t n = 0;
    for (auto& s : sinks_) n += static_cast<uint64_t>(s->Count());
    return n;
  }
  std::set<Tuple> made() {
    std::lock_guard lock(mu_);
    return made_;
  }

 private:
  void Run() {
    for (uint64_t round = 0; !stop_; ++round) {
      const bool down = agent_down;
      uint64_t ok = 0;
      auto judge = [&](bool echoed) {
        if (echoed)
          ++ok;
        else
          ++broken;
      };
      for (auto& t : tcp_) judge(t->Echo(2000));
      for (auto& u : udp_) judge(u->Echo(2000));
      echoes += ok;
      if (down && agent_down) echoes_while_down += ok;
      const char* client = kClients[round % 2];
      const char* server = kServers[(round / 2) % 2];
      auto fresh = nettest::TcpSession::Open(c_.PodNetns(client), c_.PodAddress(server), 80, 2000);
      if (fresh.ok() && (*fresh)->Echo(2000)) {
        ++opened;
        std::lock_guard lock(mu_);
        made_.insert({c_.PodAddress(client), (*fresh)->local_port(), c_.PodAddress(server)});
      } else {
        ++open_failed;
      }
      for (const char* s : kServers) {
        denied_sent += static_cast<uint64_t>(UdpBlast(c_.PodNetns("x/o1"), c_.PodAddress(s), 9999, 5));
        if (nettest::ProbeTcp(c_.PodNetns("x/o1"), c_.PodAddress(s), 80, 100)) ++denied_opened;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  Cluster& c_;
  std::vector<std::unique_ptr<nettest::TcpSession>> tcp_;
  std::vector<std::unique_ptr<nettest::UdpSession>> udp_;
  std::vector<std::unique_ptr<UdpSink>> sinks_;
  std::mutex mu_;
  std::set<Tuple> made_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Probes the outsider -> s1:81 until the answer is `want`; false after 15 s.
bool WaitFor(Cluster& c, bool want) {
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    if (c.ProbeOnce("x/o1", "x/s1", k8s::Protocol::kTCP, 81, 100) == want) return true;
  }
  return false;
}

TEST(E2eSoak, RestartsAndPolicyChangesUnderTrafficBreakNothingPassNothingLoseNothing) {
  ManifestDir dir;
  dir.Write("pods.yaml", PodsYaml());
  dir.Write("server-in.yaml", kServerIn);
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80, 81};
  NETFENCE_E2E_CLUSTER(c, options);
  ASSERT_EQ(c->nodes().size(), 2u);
  Traffic t(*c);
  ASSERT_TRUE(t.ready()) << "sessions and sinks";
  const auto start = Clock::now();
  int agent_restarts = 0, controller_restarts = 0, policy_changes = 0;
  // NETFENCE_SOAK_ROUNDS=N soaks longer (the controller restarts every fourth round).
  const char* rounds_env = std::getenv("NETFENCE_SOAK_ROUNDS");
  const int rounds = rounds_env != nullptr ? std::max(1, std::atoi(rounds_env)) : 10;
  for (int round = 0; round < rounds; ++round) {
    const std::string node = c->nodes()[static_cast<size_t>(round) % 2];
    t.agent_down = true;
    ASSERT_TRUE(c->StopAgent(node, round % 3 == 0 ? SIGKILL : SIGTERM).ok()) << node;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the fast path alone
    ASSERT_TRUE(c->StartAgent(node).ok()) << node << "\n" << c->AgentLog(node);
    t.agent_down = false;
    ++agent_restarts;
    if (round % 4 == 3) {
      ASSERT_TRUE(c->StopController(round % 8 == 3 ? SIGKILL : SIGTERM).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      ASSERT_TRUE(c->StartController().ok()) << c->ControllerLog();
      ++controller_restarts;
    }
    // A policy change (made, then undone) between restarts: a new generation everywhere.
    if (round % 2 == 1) {
      const bool add = round % 4 == 1;
      if (add)
        dir.Write("other-81.yaml", kOther81);
      else
        dir.Remove("other-81.yaml");
      ASSERT_TRUE(WaitFor(*c, add)) << "the change (other-81 " << (add ? "added" : "removed") << ") never took effect";
      ++policy_changes;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  t.Stop();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();

  // The flow logs: every TCP connection made has a record (the pipeline scans every second).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::set<Tuple> logged;
  size_t records = 0;
  for (const std::string& node : c->nodes()) {
    auto log = ReadFlowLog(c->FlowLogPath(node));
    ASSERT_TRUE(log.ok()) << log.status().message();
    records += log->size();
    for (const flowlog::FlowRecord& r : *log) {
      if (r.proto != 6 || !r.src.ip || !r.src.port || !r.dst.ip || r.dst.port != 80) continue;
      logged.insert({r.src.ip->str(), *r.src.port, r.dst.ip->str()});
    }
  }
  const std::set<Tuple> made = t.made();
  size_t missing = 0;
  std::string examples;
  for (const Tuple& m : made) {
    if (logged.count(m)) continue;
    if (++missing <= 5) {
      examples += "  " + std::get<0>(m) + ":" + std::to_string(std::get<1>(m)) + " -> " + std::get<2>(m) + ":80\n";
    }
  }
  std::printf(
      "[soak] %.0f s: %d agent restarts, %d controller restarts, %d policy changes; allowed: %llu echoes (%llu while "
      "an agent "
      "was away), %llu broken, %llu new connections, %llu refused; denied: %llu datagrams sent, %llu delivered, %llu "
      "connections "
      "opened; flow log: %zu of %zu TCP connections recorded (%zu records)\n",
      secs, agent_restarts, controller_restarts, policy_changes, static_cast<unsigned long long>(t.echoes.load()),
      static_cast<unsigned long long>(t.echoes_while_down.load()), static_cast<unsigned long long>(t.broken.load()),
      static_cast<unsigned long long>(t.opened.load()), static_cast<unsigned long long>(t.open_failed.load()),
      static_cast<unsigned long long>(t.denied_sent.load()), static_cast<unsigned long long>(t.DeniedDelivered()),
      static_cast<unsigned long long>(t.denied_opened.load()), made.size() - missing, made.size(), records);
  EXPECT_EQ(t.broken.load(), 0u) << "allowed sessions broken";
  EXPECT_EQ(t.open_failed.load(), 0u) << "allowed new connections refused";
  EXPECT_EQ(t.DeniedDelivered(), 0u) << "denied datagrams delivered";
  EXPECT_EQ(t.denied_opened.load(), 0u) << "denied connections opened";
  // Traffic ran throughout, restarts included (how much depends on the machine: no rate here).
  EXPECT_GT(t.echoes_while_down.load(), 0u);
  EXPECT_GT(t.opened.load(), 10u);
  EXPECT_GT(t.denied_sent.load(), 100u);
  EXPECT_EQ(missing, 0u) << "connections without a flow record:\n" << examples;
}

}  // namespace
}  // namespace netfence::e2e
