// SPDX-License-Identifier: Apache-2.0
// Pods and policies changing under a running agent, with real packets: a pod born under a
// default-deny policy, policies added/changed/deleted while connections are open, and the
// agent restarted (SIGTERM and SIGKILL) under traffic. Latencies are measured and printed
// (no thresholds: figures for the record, see scripts/bench.sh).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/e2e/e2e_fixture.h"
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
constexpr auto kSCTP = k8s::Protocol::kSCTP;

double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Probes src -> dst until the answer is `want` (each attempt bounded by attempt_ms); returns
// the milliseconds it took, or -1 after timeout_ms.
double WaitForVerdict(Cluster& c, const std::string& src, const std::string& dst, k8s::Protocol p, uint16_t port,
                      bool want, int attempt_ms = 50, int timeout_ms = 10000) {
  const auto start = Clock::now();
  while (MsSince(start) < timeout_ms) {
    if (c.ProbeOnce(src, dst, p, port, attempt_ms) == want) return MsSince(start);
  }
  return -1;
}

TEST(E2eLifecycle, PodBornUnderDefaultDenyGetsNoPacketUntilAllowed) {
  ManifestDir dir;
  dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + PodYaml("x", "old", "app: old", "10.78.0.10") +
                                PodYaml("x", "new", "app: new", "10.78.0.20"));
  dir.Write("isolate-new.yaml", PolicyYaml("x", "isolate-new",
                                           "  podSelector: {matchLabels: {app: new}}\n"
                                           "  policyTypes: [Ingress, Egress]"));
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80};
  options.deferred_pods = {"x/new"};
  NETFENCE_E2E_CLUSTER(c, options);

  ASSERT_TRUE(c->CreatePodNamespace("x/new").ok());
  auto at_old = UdpSink::Bind(c->PodNetns("x/old"), "10.78.0.10", 9999);
  auto at_new = UdpSink::Bind(c->PodNetns("x/new"), "10.78.0.20", 9999);  // before the address exists
  ASSERT_TRUE(at_old.ok() && at_new.ok());

  ASSERT_TRUE(c->AddPod("x/new").ok());
  // From the instant ADD returns: datagrams both ways, connection attempts both ways.
  const int sent_out = UdpBlast(c->PodNetns("x/new"), "10.78.0.10", 9999, 2000);
  const int sent_in = UdpBlast(c->PodNetns("x/old"), "10.78.0.20", 9999, 2000);
  EXPECT_FALSE(c->ProbeOnce("x/new", "x/old", kTCP, 80, 300));
  EXPECT_FALSE(c->ProbeOnce("x/old", "x/new", kTCP, 80, 300));
  EXPECT_FALSE(c->ProbeOnce("x/old", "x/new", kUDP, 80, 300));
  EXPECT_FALSE(c->ProbeOnce("x/old", "x/new", kSCTP, 80, 300));
  EXPECT_GT(sent_out + sent_in, 0) << "nothing could even be sent";
  EXPECT_EQ((*at_old)->Count(), 0) << "a packet of the isolated pod reached another pod";
  EXPECT_EQ((*at_new)->Count(), 0) << "a packet reached the isolated pod";

  // The allow rule appears: traffic follows.
  const auto written = Clock::now();
  dir.Write("allow-new.yaml", PolicyYaml("x", "allow-new",
                                         "  podSelector: {matchLabels: {app: new}}\n"
                                         "  ingress: [{from: [{podSelector: {matchLabels: {app: old}}}],"
                                         " ports: [{protocol: UDP, port: 9999}, {protocol: TCP, port: 80}]}]\n"
                                         "  egress: [{to: [{podSelector: {matchLabels: {app: old}}}],"
                                         " ports: [{protocol: UDP, port: 9999}, {protocol: TCP, port: 80}]}]"));
  const double ms = WaitForVerdict(*c, "x/old", "x/new", kTCP, 80, true);
  ASSERT_GE(ms, 0) << "the allow rule never took effect\n" << c->AgentLog("node-1");
  std::printf("manifest written -> first allowed connection: %.1f ms (%.1f ms after the write)\n", ms,
              MsSince(written));
  EXPECT_TRUE(c->ProbeOnce("x/new", "x/old", kTCP, 80));
  UdpBlast(c->PodNetns("x/new"), "10.78.0.10", 9999, 10);
  UdpBlast(c->PodNetns("x/old"), "10.78.0.20", 9999, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ((*at_old)->Count(), 10);
  EXPECT_EQ((*at_new)->Count(), 10);
}

std::string ServerPolicy(const std::string& ports) {
  return PolicyYaml("x", "server-in",
                    "  podSelector: {matchLabels: {app: server}}\n"
                    "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [" +
                        ports + "]}]");
}
const std::string kPorts80 = "{protocol: TCP, port: 80}, {protocol: UDP, port: 80}, {protocol: SCTP, port: 80}";
const std::string kPorts81 = "{protocol: TCP, port: 81}, {protocol: UDP, port: 81}, {protocol: SCTP, port: 81}";

struct Sessions {
  std::unique_ptr<nettest::TcpSession> tcp;
  std::unique_ptr<nettest::UdpSession> udp;
  std::unique_ptr<nettest::SctpSession> sctp;
  static Sessions Open(const Cluster& c, uint16_t port) {
    const nettest::Netns& ns = c.PodNetns("x/client");
    const std::string dst = c.PodAddress("x/server");
    Sessions s;
    if (auto t = nettest::TcpSession::Open(ns, dst, port); t.ok()) s.tcp = std::move(t).value();
    if (auto u = nettest::UdpSession::Open(ns, dst, port); u.ok()) s.udp = std::move(u).value();
    if (auto x = nettest::SctpSession::Open(ns, dst, port); x.ok()) s.sctp = std::move(x).value();
    return s;
  }
  bool open() const { return tcp && udp && sctp; }
};

ClusterOptions ClientServer(const ManifestDir& dir) {
  dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + PodYaml("x", "client", "app: client", "10.78.1.10") +
                                PodYaml("x", "server", "app: server", "10.78.1.20"));
  ClusterOptions options;
  options.manifests = dir.path();
  options.bin_dir = BinDir();
  options.server_ports = {80, 81};
  return options;
}

TEST(E2eLifecycle, PolicyAddedChangedDeletedWithOpenConnections) {
  ManifestDir dir;
  ClusterOptions options = ClientServer(dir);
  dir.Write("server-in.yaml", ServerPolicy(kPorts80 + ", " + kPorts81));
  NETFENCE_E2E_CLUSTER(c, options);

  Sessions s80 = Sessions::Open(*c, 80), s81 = Sessions::Open(*c, 81);
  ASSERT_TRUE(s80.open() && s81.open()) << "sessions under the first policy";

  // Changed: port 81 no longer allowed. New connections follow at once; open ones on 81 are cut.
  dir.Write("server-in.yaml", ServerPolicy(kPorts80));
  ASSERT_GE(WaitForVerdict(*c, "x/client", "x/server", kTCP, 81, false), 0) << c->AgentLog("node-1");
  EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kUDP, 81, 300));
  EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kSCTP, 81, 300));
  EXPECT_FALSE(s81.tcp->Echo(300)) << "a revoked TCP connection survived";
  EXPECT_FALSE(s81.udp->Echo(300)) << "a revoked UDP flow survived";
  EXPECT_FALSE(s81.sctp->Echo(300)) << "a revoked SCTP association survived";
  EXPECT_TRUE(s80.tcp->Echo()) << "an allowed TCP connection was broken";
  EXPECT_TRUE(s80.udp->Echo()) << "an allowed UDP flow was broken";
  EXPECT_TRUE(s80.sctp->Echo()) << "an allowed SCTP association was broken";
  EXPECT_TRUE(c->ProbeOnce("x/client", "x/server", kTCP, 80));

  // Deleted: nothing selects the server any more, everything is allowed.
  dir.Remove("server-in.yaml");
  ASSERT_GE(WaitForVerdict(*c, "x/client", "x/server", kTCP, 81, true), 0) << c->AgentLog("node-1");
  EXPECT_TRUE(c->ProbeOnce("x/server", "x/client", kUDP, 81));
  EXPECT_TRUE(s80.tcp->Echo() && s80.udp->Echo() && s80.sctp->Echo());

  // Added again, then toggled: the time from the manifest write to the first packet that
  // sees the new verdict, both ways.
  std::vector<double> to_allowed, to_denied;
  for (int i = 0; i < 10; ++i) {
    dir.Write("server-in.yaml", ServerPolicy(kPorts80));
    to_denied.push_back(WaitForVerdict(*c, "x/client", "x/server", kTCP, 81, false, 20));
    dir.Write("server-in.yaml", ServerPolicy(kPorts80 + ", " + kPorts81));
    to_allowed.push_back(WaitForVerdict(*c, "x/client", "x/server", kTCP, 81, true, 20));
    ASSERT_GE(to_denied.back(), 0);
    ASSERT_GE(to_allowed.back(), 0);
  }
  std::printf("manifest change -> first new connection allowed: %s\n", Percentiles(to_allowed).c_str());
  std::printf("manifest change -> first new connection denied (20 ms probes): %s\n", Percentiles(to_denied).c_str());
}

// Traffic while the agent or the controller comes and goes: echoes on open TCP, UDP and SCTP
// sessions to port 80 (allowed: none may break) and UDP datagrams to port 9999 of the server
// (denied: none may arrive), from a thread of their own until Stop().
class TrafficUnderTest {
 public:
  explicit TrafficUnderTest(Cluster& c) : c_(c), sessions_(Sessions::Open(c, 80)) {
    auto sink = UdpSink::Bind(c.PodNetns("x/server"), "10.78.1.20", 9999);
    if (sink.ok()) denied_sink_ = std::move(sink).value();
    if (!ready()) return;
    thread_ = std::thread([this] {
      while (!stop_) {
        for (bool ok : {sessions_.tcp->Echo(), sessions_.udp->Echo(), sessions_.sctp->Echo()}) (ok ? echoes : broken)++;
        blasted += UdpBlast(c_.PodNetns("x/client"), "10.78.1.20", 9999, 20);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ~TrafficUnderTest() { Stop(); }
  bool ready() const { return sessions_.open() && denied_sink_ != nullptr; }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Stops the traffic and expects that no allowed echo failed and no denied datagram arrived.
  void ExpectNothingBrokenNothingPassed(const std::string& during) {
    Stop();
    EXPECT_EQ(broken, 0) << "allowed connections broken " << during << " (" << echoes << " echoes fine)";
    EXPECT_GT(echoes, 30);
    EXPECT_GT(blasted, 0);
    EXPECT_EQ(denied_sink_->Count(), 0) << "denied packets passed " << during;
  }

 private:
  std::atomic<int> echoes{0}, broken{0}, blasted{0};
  Cluster& c_;
  Sessions sessions_;
  std::unique_ptr<UdpSink> denied_sink_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(E2eLifecycle, AgentRestartUnderTrafficBreaksNothingAndPassesNothing) {
  ManifestDir dir;
  ClusterOptions options = ClientServer(dir);
  dir.Write("server-in.yaml", ServerPolicy(kPorts80));
  NETFENCE_E2E_CLUSTER(c, options);
  TrafficUnderTest t(*c);
  ASSERT_TRUE(t.ready());
  for (int signo : {SIGTERM, SIGKILL}) {
    ASSERT_TRUE(c->StopAgent("node-1", signo).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // no agent: the fast path enforces alone
    ASSERT_TRUE(c->StartAgent("node-1").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  t.ExpectNothingBrokenNothingPassed("across agent restarts");
  // The restarted agent re-adopted the pods: CNI CHECK passes, verdicts are unchanged.
  for (const char* pod : {"x/client", "x/server"}) {
    auto check = c->InvokeNetfenceCni(pod, "CHECK", c->AddResult(pod));
    ASSERT_TRUE(check.ok());
    EXPECT_EQ(check->exit_code, 0) << pod << ": " << check->out << check->err;
  }
  EXPECT_TRUE(c->ProbeOnce("x/client", "x/server", kTCP, 80));
  EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 81, 300));
}

// The controller goes away under traffic: the agents keep enforcing their last tables (an
// agent restarted meanwhile enforces its persisted view, no controller needed), a policy
// written meanwhile takes effect only once a controller is back, and nothing allowed breaks.
TEST(E2eLifecycle, ControllerAwayAndBackUnderTraffic) {
  ManifestDir dir;
  ClusterOptions options = ClientServer(dir);
  dir.Write("server-in.yaml", ServerPolicy(kPorts80));
  NETFENCE_E2E_CLUSTER(c, options);
  TrafficUnderTest t(*c);
  ASSERT_TRUE(t.ready());
  ASSERT_TRUE(c->StopController(SIGKILL).ok());
  dir.Write("server-in.yaml", ServerPolicy(kPorts80 + ", " + kPorts81));  // nobody compiles it yet
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 81, 300)) << "a policy took effect without a controller";
  // The agent restarts while the controller is away: it enforces what it persisted.
  ASSERT_TRUE(c->StopAgent("node-1", SIGKILL).ok());
  ASSERT_TRUE(c->StartAgent("node-1").ok()) << "an agent must start from its persisted view";
  EXPECT_TRUE(c->ProbeOnce("x/client", "x/server", kTCP, 80));
  EXPECT_FALSE(c->ProbeOnce("x/client", "x/server", kTCP, 81, 300));

  const auto back = Clock::now();
  ASSERT_TRUE(c->StartController().ok());
  const double ms = WaitForVerdict(*c, "x/client", "x/server", kTCP, 81, true);
  ASSERT_GE(ms, 0) << "the new policy never took effect after the controller came back\n" << c->AgentLog("node-1");
  std::printf("controller restarted -> agents resynced and the new policy live: %.0f ms\n", MsSince(back));
  t.ExpectNothingBrokenNothingPassed("while the controller was away");
  EXPECT_TRUE(c->ProbeOnce("x/client", "x/server", kUDP, 81));
}

}  // namespace
}  // namespace netfence::e2e
