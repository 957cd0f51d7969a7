// SPDX-License-Identifier: Apache-2.0
// What is particular to the DPDK fast path, end to end: netfence-dpdk is the switch of the
// pods it owns, so without it nothing reaches them (fail closed), and when it comes back with
// nothing the agent notices and gives it the live tables and every port again: allowed traffic
// flows and denied traffic stays denied. (The conformance scenarios and the lifecycle tests run
// on DPDK too: their .dpdk cases.)
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/flow_logs.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/require_netns.h"

namespace netfence::e2e {
namespace {

using testing::NamespaceYaml;
using testing::PodYaml;
using testing::PolicyYaml;
using Clock = std::chrono::steady_clock;
constexpr auto kTCP = k8s::Protocol::kTCP;
constexpr auto kUDP = k8s::Protocol::kUDP;

// Probes until the answer is `want`; milliseconds it took, or -1 after timeout_ms.
double WaitForVerdict(Cluster& c, const std::string& src, const std::string& dst, k8s::Protocol p, uint16_t port,
                      bool want, int timeout_ms = 20000) {
  const auto start = Clock::now();
  auto ms = [&] { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); };
  while (ms() < timeout_ms) {
    if (c.ProbeOnce(src, dst, p, port, 100) == want) return ms();
  }
  return -1;
}

TEST(E2eDpdk, NetfenceDpdkAwayCutsThePodsOffAndComesBackEnforcing) {
  ManifestDir dir;
  dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + PodYaml("x", "client", "app: client", "10.78.2.10") +
                                PodYaml("x", "server", "app: server", "10.78.2.20"));
  dir.Write("server-in.yaml", PolicyYaml("x", "server-in",
                                         "  podSelector: {matchLabels: {app: server}}\n"
                                         "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}],"
                                         " ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]}]"));
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80, 81};
  options.dataplane = "dpdk";
  NETFENCE_E2E_CLUSTER(c, options);
  ASSERT_TRUE(c->ProbeOnce("x/client", "x/server", kTCP, 80));
  ASSERT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 81, 300));
  ASSERT_TRUE(c->ProbeOnce("x/server", "x/client", kUDP, 81));  // the client is not isolated

  for (int signo : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE("netfence-dpdk stopped with signal " + std::to_string(signo));
    ASSERT_TRUE(c->StopDpdk("node-1", signo).ok());
    // Nothing switches the pods: allowed traffic fails too (fail closed, never open).
    EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 80, 300));
    EXPECT_FALSE(c->ProbeOnce("x/server", "x/client", kUDP, 81, 300));
    EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 81, 300));
    auto check = c->InvokeNetfenceCni("x/server", "CHECK", c->AddResult("x/server"));
    ASSERT_TRUE(check.ok());
    EXPECT_NE(check->exit_code, 0) << "CNI CHECK passed with nothing enforcing";

    const auto back = Clock::now();
    ASSERT_TRUE(c->StartDpdk("node-1").ok());
    const double ms = WaitForVerdict(*c, "x/client", "x/server", kTCP, 80, true);
    ASSERT_GE(ms, 0) << "the agent never restored netfence-dpdk\n" << c->AgentLog("node-1") << c->DpdkLog("node-1");
    std::printf("netfence-dpdk restarted -> agent restored tables and ports: %.0f ms\n",
                std::chrono::duration<double, std::milli>(Clock::now() - back).count());
    EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 81, 300));
    EXPECT_TRUE(c->ProbeOnce("x/server", "x/client", kUDP, 81));
    check = c->InvokeNetfenceCni("x/server", "CHECK", c->AddResult("x/server"));
    ASSERT_TRUE(check.ok());
    EXPECT_EQ(check->exit_code, 0) << check->out << check->err;
  }
  EXPECT_NE(c->AgentLog("node-1").find("netfence-dpdk restarted"), std::string::npos);
  // A policy change after the restorations reaches the new instance.
  dir.Write("server-in.yaml", PolicyYaml("x", "server-in",
                                         "  podSelector: {matchLabels: {app: server}}\n"
                                         "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}],"
                                         " ports: [{protocol: TCP, port: 81}]}]"));
  EXPECT_GE(WaitForVerdict(*c, "x/client", "x/server", kTCP, 81, true), 0);
  EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 80, 300));

  // The connections' and the drops' records say where their packets were seen: a port of
  // netfence-dpdk.
  size_t connections = 0, drops = 0;
  for (int i = 0; i < 100 && (connections == 0 || drops == 0); ++i) {
    connections = drops = 0;
    auto read = ReadFlowLog(c->FlowLogPath("node-1"));
    ASSERT_TRUE(read.ok()) << read.status().message();
    for (const flowlog::FlowRecord& r : *read) {
      if (r.event == flowlog::EventKind::kLost) continue;  // not a packet's record
      connections += r.event == flowlog::EventKind::kStart || r.event == flowlog::EventKind::kEnd;
      drops += r.event == flowlog::EventKind::kDrop;
      EXPECT_EQ(r.observation_point, "dpdk") << flowlog::ToJson(r);
    }
    if (connections == 0 || drops == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(connections, 0u) << "no start or end records in " << c->FlowLogPath("node-1");
  EXPECT_GT(drops, 0u) << "no drop records (TCP/81 was denied) in " << c->FlowLogPath("node-1");
}

}  // namespace
}  // namespace netfence::e2e
