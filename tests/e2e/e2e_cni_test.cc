// SPDX-License-Identifier: Apache-2.0
// The CNI plugin in the real chain (bridge + host-local + netfence-cni, run like a container
// runtime runs them) against a real agent: idempotent DEL, DEL and ADD with the agent down
// (ADD fails closed: the pod's veth is set down and the message says why), unknown pods,
// CHECK, STATUS, GC; and the time from ADD to the pod's tables live over 100 pods.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "dataplane/netdev/netdev.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/flow_logs.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/require_netns.h"

namespace netfence::e2e {
namespace {

using nlohmann::json;
using testing::NamespaceYaml;
using testing::PodYaml;
using testing::PolicyYaml;
constexpr auto kTCP = k8s::Protocol::kTCP;

ClusterOptions ThreePods(const ManifestDir& dir) {
  dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + PodYaml("x", "a", "app: a", "10.78.2.1") +
                                PodYaml("x", "b", "app: b", "10.78.2.2") + PodYaml("x", "c", "app: c", "10.78.2.3"));
  // c accepts nobody: every probe to it must fail, whatever the plugin did.
  dir.Write("isolate-c.yaml", PolicyYaml("x", "isolate-c", "  podSelector: {matchLabels: {app: c}}"));
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80};
  options.deferred_pods = {"x/c"};
  return options;
}

json CniError(const ProcessResult& r) { return json::parse(r.out, nullptr, false); }

bool InterfaceUp(const Cluster& c, const std::string& node, const std::string& name) {
  return nettest::InNetns(c.NodeNetns(node), [&] {
    auto up = netdev::IsUp(name);
    return up.ok() && *up;
  });
}

std::string EndpointsLine(Cluster& c) {
  agent::Request status;
  status.op = "status";
  auto r = c.AgentCall("node-1", status);
  return r.ok() ? r->message : r.status().message();
}

TEST(E2eCni, CheckDelTwiceAndDelWithTheAgentDown) {
  ManifestDir dir;
  NETFENCE_E2E_CLUSTER(c, ThreePods(dir));
  EXPECT_NE(EndpointsLine(*c).find("2 endpoints"), std::string::npos) << EndpointsLine(*c);
  auto check = c->InvokeNetfenceCni("x/a", "CHECK", c->AddResult("x/a"));
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->exit_code, 0) << check->out;

  ASSERT_TRUE(c->DelPod("x/a").ok());
  ASSERT_TRUE(c->DelPod("x/a").ok()) << "a second DEL must succeed";
  check = c->InvokeNetfenceCni("x/a", "CHECK", c->AddResult("x/a"));
  ASSERT_TRUE(check.ok());
  EXPECT_NE(check->exit_code, 0);
  EXPECT_EQ(CniError(*check).value("code", 0), agent::kNotEnforced) << check->out;
  EXPECT_NE(EndpointsLine(*c).find("1 endpoints"), std::string::npos) << EndpointsLine(*c);

  // DEL while the agent is away succeeds and is journaled; the restarted agent applies it.
  ASSERT_TRUE(c->StopAgent("node-1").ok());
  ASSERT_TRUE(c->DelPod("x/b").ok());
  ASSERT_TRUE(c->DelPod("x/b").ok());
  ASSERT_TRUE(c->StartAgent("node-1").ok());
  EXPECT_NE(EndpointsLine(*c).find("0 endpoints"), std::string::npos) << EndpointsLine(*c);
  EXPECT_NE(c->AgentLog("node-1").find("DEL received while the agent was away: unplugged"), std::string::npos)
      << c->AgentLog("node-1");
}

TEST(E2eCni, AddWithTheAgentDownFailsClosed) {
  ManifestDir dir;
  NETFENCE_E2E_CLUSTER(c, ThreePods(dir));
  ASSERT_TRUE(c->StopAgent("node-1").ok());
  auto wired = c->AddPodWithoutNetfence("x/c");  // bridge + host-local done, as in the chain
  ASSERT_TRUE(wired.ok()) << wired.status().message();
  const std::string veth = c->HostInterface("x/c");
  ASSERT_FALSE(veth.empty());
  EXPECT_TRUE(InterfaceUp(*c, "node-1", veth));

  auto add = c->InvokeNetfenceCni("x/c", "ADD", *wired);
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add->exit_code, 1);
  const json error = CniError(*add);
  EXPECT_EQ(error.value("code", 0), agent::kCniTryAgainLater) << add->out;
  const std::string msg = error.value("msg", "");
  EXPECT_NE(msg.find("x/c"), std::string::npos) << msg;
  EXPECT_NE(msg.find(".sock"), std::string::npos) << msg;
  EXPECT_NE(msg.find(veth), std::string::npos) << msg;
  EXPECT_FALSE(InterfaceUp(*c, "node-1", veth)) << "the pod's veth must be down after a failed ADD";
  // Nothing reaches the pod, nothing leaves it, even towards pods that accept everyone.
  EXPECT_FALSE(c->ProbeOnce("x/a", "x/c", kTCP, 80, 300));
  EXPECT_FALSE(c->ProbeOnce("x/c", "x/a", kTCP, 80, 300));
}

// The rollout gap: a pod wired while no agent runs on the node and netfence-cni never ran for
// it (the plugin was out of the chain) must not run unprotected once the agent is back.
TEST(E2eCni, APodWiredWhileTheAgentWasAwayIsSetDownWhenItReturns) {
  ManifestDir dir;
  NETFENCE_E2E_CLUSTER(c, ThreePods(dir));
  ASSERT_TRUE(c->StopAgent("node-1").ok());
  auto wired = c->AddPodWithoutNetfence("x/c");  // bridge + host-local only
  ASSERT_TRUE(wired.ok()) << wired.status().message();
  const std::string veth = c->HostInterface("x/c");
  ASSERT_FALSE(veth.empty());
  ASSERT_TRUE(InterfaceUp(*c, "node-1", veth));
  ASSERT_TRUE(c->StartAgent("node-1").ok());
  EXPECT_FALSE(InterfaceUp(*c, "node-1", veth)) << "an unregistered pod veth is set down (fail closed)";
  EXPECT_TRUE(InterfaceUp(*c, "node-1", c->HostInterface("x/a"))) << "registered pods are untouched";
  EXPECT_NE(c->AgentLog("node-1").find("interface " + veth + " is on the pods' bridge"), std::string::npos)
      << c->AgentLog("node-1");
  auto metrics = HttpGetIn(c->NodeNetns("node-1"), Cluster::kMetricsAddress, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();
  EXPECT_EQ(MetricValue(*metrics, "netfence_agent_unregistered_interfaces_down_total"), 1.0) << *metrics;
  EXPECT_TRUE(c->ProbeOnce("x/a", "x/b", kTCP, 80, 1000)) << "the registered pods keep working";
}

// Between the interface plugin's ADD (the veth is up, the address set) and netfence-cni's, a
// pod's kernel could answer. With --pod-cidr nothing reaches it in that window; without, it
// can be reached (the control: this test sees the window).
TEST(E2eCni, WithPodCidrAPodIsUnreachableFromItsInterfacePluginsAdd) {
  for (const bool guarded : {false, true}) {
    SCOPED_TRACE(guarded ? "--pod-cidr 10.78.3.0/24" : "no --pod-cidr");
    ManifestDir dir;
    dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + PodYaml("x", "a", "app: a", "10.78.3.1") +
                                  PodYaml("x", "c", "app: c", "10.78.3.3"));  // nobody isolated
    ClusterOptions options;
    options.manifests = dir.path();
    options.bin_dir = BinDir();
    options.server_ports = {80};
    options.deferred_pods = {"x/c"};
    if (guarded) options.agent_args = {"--pod-cidr", "10.78.3.0/24"};
    NETFENCE_E2E_CLUSTER(c, options);
    auto wired = c->AddPodWithoutNetfence("x/c", true);
    ASSERT_TRUE(wired.ok()) << wired.status().message();
    EXPECT_EQ(c->ProbeOnce("x/a", "x/c", kTCP, 80, 300), !guarded);
    if (guarded) {
      // The flow log says why.
      bool logged = false;
      for (int i = 0; i < 50 && !logged; ++i) {
        auto log = ReadFlowLog(c->FlowLogPath("node-1"));
        ASSERT_TRUE(log.ok()) << log.status().message();
        for (const flowlog::FlowRecord& r : *log) {
          logged |= r.event == flowlog::EventKind::kDrop && r.reason == flowlog::reason::kUnregistered &&
                    r.dst.ip == IpAddr::Parse("10.78.3.3");
        }
        if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      EXPECT_TRUE(logged) << "no drop record with reason unregistered for x/a -> x/c";
    }
    // The node's own address inside the CIDR (a bridge's gateway address) stays reachable: the
    // agent exempts the node's addresses there at every ADD.
    const nettest::Netns& node = c->NodeNetns("node-1");
    ASSERT_TRUE(node.Exec({"sh", "-c",
                           "ip addr add 10.78.3.254/24 dev $(ip -o link show type bridge | "
                           "sed -n 's/^[0-9]*: \\([^:@]*\\).*/\\1/p' | head -n 1)"})
                    .ok());
    auto add = c->InvokeNetfenceCni("x/c", "ADD", *wired);
    ASSERT_TRUE(add.ok());
    ASSERT_EQ(add->exit_code, 0) << add->out;
    EXPECT_TRUE(c->ProbeOnce("x/a", "x/c", kTCP, 80, 300));  // registered: its policy (none) applies
    EXPECT_TRUE(c->ProbeOnce("x/c", "x/a", kTCP, 80, 300));
    auto on_node = nettest::ProbeServer::Start(node, "10.78.3.254", 8080);
    ASSERT_TRUE(on_node.ok()) << on_node.status().message();
    auto to_node = nettest::TcpTransfer(c->PodNetns("x/a"), "10.78.3.254", 8080, 100);
    EXPECT_TRUE(to_node.ok()) << to_node.status().message();
  }
}

TEST(E2eCni, UnknownPodIsRefusedAndFailsClosed) {
  ManifestDir dir;
  ClusterOptions options = ThreePods(dir);
  NETFENCE_E2E_CLUSTER(c, options);
  // x/c disappears from the cluster state before its ADD.
  dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + PodYaml("x", "a", "app: a", "10.78.2.1") +
                                PodYaml("x", "b", "app: b", "10.78.2.2"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto wired = c->AddPodWithoutNetfence("x/c");
  ASSERT_TRUE(wired.ok()) << wired.status().message();
  auto add = c->InvokeNetfenceCni("x/c", "ADD", *wired);
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add->exit_code, 1);
  const json error = CniError(*add);
  EXPECT_EQ(error.value("code", 0), agent::kUnknownPod) << add->out;
  EXPECT_NE(error.value("msg", "").find("x/c is not in the cluster state"), std::string::npos) << add->out;
  EXPECT_FALSE(InterfaceUp(*c, "node-1", c->HostInterface("x/c")));
  EXPECT_FALSE(c->ProbeOnce("x/a", "x/c", kTCP, 80, 300));
}

TEST(E2eCni, StatusAndGc) {
  ManifestDir dir;
  NETFENCE_E2E_CLUSTER(c, ThreePods(dir));
  const json v11 = {{"cniVersion", "1.1.0"}};
  auto status = c->InvokeNetfenceCni("x/a", "STATUS", nullptr, v11);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->exit_code, 0) << status->out << status->err;
  EXPECT_EQ(c->InvokeNetfenceCni("x/b", "CHECK", c->AddResult("x/b"))->exit_code, 0);

  // GC keeping only x/a's attachment: x/b is unplugged.
  json keep = v11;
  keep["cni.dev/valid-attachments"] = json::array({{{"containerID", c->ContainerId("x/a")}, {"ifname", "eth0"}}});
  auto gc = c->InvokeNetfenceCni("x/a", "GC", nullptr, keep);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->exit_code, 0) << gc->out << gc->err;
  EXPECT_EQ(c->InvokeNetfenceCni("x/a", "CHECK", c->AddResult("x/a"))->exit_code, 0);
  EXPECT_NE(c->InvokeNetfenceCni("x/b", "CHECK", c->AddResult("x/b"))->exit_code, 0);
  EXPECT_NE(EndpointsLine(*c).find("1 endpoints"), std::string::npos) << EndpointsLine(*c);

  ASSERT_TRUE(c->StopAgent("node-1").ok());
  status = c->InvokeNetfenceCni("x/a", "STATUS", nullptr, v11);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(CniError(*status).value("code", 0), 50) << status->out;
}

TEST(E2eCni, AddToTablesLiveOver100Pods) {
  ManifestDir dir;
  std::string pods = NamespaceYaml("load", "ns: load");
  std::set<std::string> deferred;
  for (int i = 1; i <= 100; ++i) {
    pods += PodYaml("load", "p" + std::to_string(i), "app: load", "10.79.0." + std::to_string(i));
    deferred.insert("load/p" + std::to_string(i));
  }
  dir.Write("cluster.yaml", pods);
  dir.Write("same-ns.yaml",
            PolicyYaml("load", "same-namespace", "  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]"));
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80};
  options.deferred_pods = deferred;
  NETFENCE_E2E_CLUSTER(c, options);
  std::vector<double> netfence_ms, chain_ms;
  for (const std::string& pod : deferred) {
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(c->AddPod(pod).ok());
    chain_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    netfence_ms.push_back(c->LastAddMs(pod, "netfence-cni"));
  }
  std::printf("CNI ADD of netfence-cni (invoked -> tables live, 100 pods): %s\n", Percentiles(netfence_ms).c_str());
  std::printf("whole chain bridge+host-local+netfence-cni plus probe servers: %s\n", Percentiles(chain_ms).c_str());
  EXPECT_NE(EndpointsLine(*c).find("100 endpoints"), std::string::npos) << EndpointsLine(*c);
  EXPECT_TRUE(c->ProbeOnce("load/p1", "load/p100", kTCP, 80));
  EXPECT_TRUE(c->ProbeOnce("load/p57", "load/p3", kTCP, 80));
}

}  // namespace
}  // namespace netfence::e2e
