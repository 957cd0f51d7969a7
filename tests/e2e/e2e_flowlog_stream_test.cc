// SPDX-License-Identifier: Apache-2.0
// The flow log end to end, continued (e2e_flowlog_test.cc has the records of known traffic):
// the live stream (netfencectl flows --agent) shows the records as the file has them; every
// record is complete at stop, after a restart and after its generation is superseded; a flood of
// source ports folds past the bound into one record saying how much; probe-matrix --flow-log
// has a record for every probed pair whose verdict is the probe's.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "dataplane/flowlog/community_id.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/e2e_flowlog_fixture.h"
#include "tests/e2e/flow_logs.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/require_netns.h"
#include "tests/testing/socket_util.h"
#include "tests/testing/test_certs.h"

namespace netfence::e2e {
namespace {

using namespace flowlog_e2e;  // the shared cluster and log readers (e2e_flowlog_fixture.h)

TEST(E2eFlowLog, TheLiveStreamShowsTheRecordsAsTheFileHasThem) {
  ManifestDir dir;
  dir.Write("cluster.yaml", ClusterYaml());
  dir.Write("policy.yaml", AllowClient("allow-client"));
  // Also on TCP with mTLS, under a CA of its own (--observe-tls-*, apart from the controller's).
  testing::TempDir pki;
  auto certs = testing::MakeTestCerts(pki.path());
  ASSERT_TRUE(certs.ok()) << certs.status().message();
  NETFENCE_E2E_CLUSTER(
      c, Options(dir, {"--observe-address", "127.0.0.1:9091", "--observe-tls-cert", certs->server_cert_file,
                       "--observe-tls-key", certs->server_key_file, "--observe-tls-ca", certs->ca_cert_file}));
  const std::string out = dir.path() + "/../" + nettest::UniqueName("flows-follow") + ".out";
  auto follow = Daemon::Start({BinDir() + "/netfencectl", "flows", "--agent", c->ObserveTarget(kNode), "--follow",
                               "--namespace", "shop", "-o", "json"},
                              out);
  ASSERT_TRUE(follow.ok()) << follow.status().message();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscribed (else: in its history anyway)
  auto t = nettest::TcpTransfer(c->PodNetns("shop/client"), kServer, 80, 2000);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(UdpBlast(c->PodNetns("dev/debug"), kServer, 53, 1), 1);  // dev -> shop: shop is an end
  WaitForLog(*c, kNode, [&](const std::vector<FlowRecord>& l) {
    bool drop = false;
    for (const FlowRecord& r : l) drop |= r.event == EventKind::kDrop && r.src.ip == IpAddr::Parse(kDebug);
    return drop && !Of(l, EventKind::kEnd, 6, t->local_port).empty();
  });
  // What the stream printed: the file's lines about shop, in the same bytes.
  std::vector<std::string> expected;
  for (const std::string& line : FlowLogLines(c->FlowLogPath(kNode))) {
    auto r = flowlog::ParseRecord(line);
    if (r.ok() && (r->src.ns == "shop" || r->dst.ns == "shop" || r->event == EventKind::kLost))
      expected.push_back(line);
  }
  std::vector<std::string> got;
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(out);
    got.clear();
    for (std::string l; std::getline(in, l);) got.push_back(l);
    if (got.size() >= expected.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(follow->Stop(SIGINT), 0) << follow->LogTail();
  EXPECT_EQ(got, expected);
  EXPECT_GE(expected.size(), 3u);  // start, end, the drop

  // Without --follow: the agent's history, then the end.
  auto once = RunProcess(
      {BinDir() + "/netfencectl", "flows", "--agent", c->ObserveTarget(kNode), "--event", "end", "-o", "json"}, {}, "");
  ASSERT_TRUE(once.ok()) << once.status().message();
  EXPECT_EQ(once->exit_code, 0) << once->err;
  std::string ends;
  for (const std::string& line : FlowLogLines(c->FlowLogPath(kNode))) {
    if (line.find("\"event\":\"end\"") != std::string::npos) ends += line + "\n";
  }
  EXPECT_EQ(once->out, ends);
  // The same over TCP with mTLS, from the node's namespace.
  const std::string node_netns = "/run/netns/" + c->NodeNetns(kNode).name();
  auto tcp = RunProcess({BinDir() + "/netfencectl", "flows", "--agent", "127.0.0.1:9091", "--tls-cert",
                         certs->client_cert_file, "--tls-key", certs->client_key_file, "--tls-ca", certs->ca_cert_file,
                         "--tls-server-name", "localhost", "--event", "end", "-o", "json"},
                        {}, "", node_netns);
  ASSERT_TRUE(tcp.ok()) << tcp.status().message();
  EXPECT_EQ(tcp->exit_code, 0) << tcp->err;
  EXPECT_EQ(tcp->out, ends);
  // A client whose certificate another CA signed, and one without TLS, are refused.
  testing::TempDir other_pki;
  auto other = testing::MakeTestCerts(other_pki.path());
  ASSERT_TRUE(other.ok()) << other.status().message();
  for (const std::vector<std::string>& creds :
       {std::vector<std::string>{"--tls-cert", other->client_cert_file, "--tls-key", other->client_key_file, "--tls-ca",
                                 certs->ca_cert_file, "--tls-server-name", "localhost"},
        std::vector<std::string>{"--insecure-plaintext"}}) {
    std::vector<std::string> argv = {BinDir() + "/netfencectl", "flows", "--agent", "127.0.0.1:9091"};
    argv.insert(argv.end(), creds.begin(), creds.end());
    auto refused = RunProcess(argv, {}, "", node_netns);
    ASSERT_TRUE(refused.ok()) << refused.status().message();
    EXPECT_NE(refused->exit_code, 0) << creds[0] << "\n" << refused->out;
    EXPECT_EQ(refused->out, "") << creds[0];
    EXPECT_NE(refused->err.find("127.0.0.1:9091"), std::string::npos) << refused->err;
  }
  auto no_tls = RunProcess({BinDir() + "/netfencectl", "flows", "--agent", "127.0.0.1:9091"}, {}, "");
  ASSERT_TRUE(no_tls.ok());
  EXPECT_EQ(no_tls->exit_code, 2);
  EXPECT_NE(no_tls->err.find("TCP needs --tls-cert, --tls-key and --tls-ca (or --insecure-plaintext)"),
            std::string::npos)
      << no_tls->err;
  std::error_code ec;
  std::filesystem::remove(out, ec);
  // An agent that is not there: an error naming it.
  auto none = RunProcess({BinDir() + "/netfencectl", "flows", "--agent", "unix:/nonexistent/observe.sock"}, {}, "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->exit_code, 1);
  EXPECT_NE(none->err.find("unix:/nonexistent/observe.sock"), std::string::npos) << none->err;
}

// The run, made harder: a default-deny namespace on two nodes, a connection admitted
// before a reprogramming and an agent restart and cut after them, drops after a generation the
// agent realised without reprogramming superseded the programmed one long enough for it to
// be retired. Every record about the pods, including those written at stop and after the
// restart, names both pods, carries its 5-tuple's Community ID and, when denied, the
// policies; the connection's timeline interleaves both nodes.
TEST(E2eFlowLog, EveryRecordIsCompleteAtStopAfterARestartAndAfterItsGenerationIsSuperseded) {
  ManifestDir dir;
  const char *a = "10.83.0.1", *b = "10.83.0.2", *c = "10.83.0.3", *d = "10.83.0.4";
  auto pod = [](const char* ns, const char* name, const char* label, const char* node, const char* ip) {
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + std::string(name) + ", namespace: " + ns +
           ", labels: {pod: " + label + "}}\nspec: {nodeName: " + node +
           ", containers: [{name: c}]}\nstatus: {podIP: \"" + ip + "\"}\n---\n";
  };
  const std::string pods = NamespaceYaml("x", "ns: x") + NamespaceYaml("y", "ns: y") + NamespaceYaml("z", "ns: z") +
                           pod("x", "a", "a", "node-a", a) + pod("x", "b", "b", "node-a", b) +
                           pod("y", "c", "c", "node-b", c) + pod("z", "d", "d", "node-b", d);
  dir.Write("cluster.yaml", pods);
  dir.Write("deny.yaml", PolicyYaml("x", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"));
  const std::string from_c =
      "  - from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: c}}}]\n";
  dir.Write("a-from-c.yaml", PolicyYaml("x", "a-from-c",
                                        "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n" + from_c +
                                            "    ports: [{protocol: UDP, port: 53}]\n"));
  ClusterOptions o =
      Options(dir, {"--flow-drop-window", "300ms", "--flow-scan-interval", "200ms", "--flow-update-interval", "1h"});
  NETFENCE_E2E_CLUSTER(c_, o);
  Cluster& cl = *c_;
  auto generation = [&](const char* node) {
    agent::Request q;
    q.op = "status";
    auto r = cl.AgentCall(node, q);
    return r.ok() && r->ok ? r->generation : 0;
  };
  auto wait_past = [&](const char* node, uint64_t g) {
    for (int i = 0; i < 300 && generation(node) <= g; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return generation(node);
  };
  const uint64_t g1 = generation("node-a");
  ASSERT_NE(g1, 0u);
  // c -> a, UDP/53: admitted by a-from-c at generation g1 (one echo).
  auto session = nettest::UdpSession::Open(cl.PodNetns("y/c"), a, 53);
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_FALSE(cl.ProbeOnce("y/c", "x/b", k8s::Protocol::kTCP, 80, 300));
  EXPECT_FALSE(cl.ProbeOnce("x/b", "y/c", k8s::Protocol::kTCP, 80, 300));
  // node-a is programmed again (b's ingress changes); the connection sends nothing, so its
  // entry stays the first programming's.
  dir.Write("b-from-c.yaml", PolicyYaml("x", "b-from-c",
                                        "  podSelector: {matchLabels: {pod: b}}\n  ingress:\n" + from_c +
                                            "    ports: [{protocol: TCP, port: 80}]\n"));
  const uint64_t g2 = wait_past("node-a", g1);
  ASSERT_GT(g2, g1);
  // The agent restarts: it knows g2 only.
  ASSERT_TRUE(cl.StopAgent("node-a").ok());
  ASSERT_TRUE(cl.StartAgent("node-a").ok());
  ASSERT_EQ(wait_past("node-a", 0), g2);
  // A pod elsewhere with d's labels: a generation whose tables are g2's, realised without
  // programming (the datapath goes on stamping g2).
  dir.Write("late.yaml", pod("z", "late", "d", "node-b", "10.83.0.9"));
  bool realised = false;
  for (int i = 0; i < 200 && !realised; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string log = cl.AgentLog("node-a");
    for (size_t at = log.find("generation "); at != std::string::npos; at = log.find("generation ", at + 1)) {
      const uint64_t g = std::strtoull(log.c_str() + at + 11, nullptr, 10);
      realised |= g > g2 && log.compare(log.find(' ', at + 11), 6, " live ") == 0;
    }
  }
  ASSERT_TRUE(realised) << cl.AgentLog("node-a");
  EXPECT_EQ(generation("node-a"), g2);
  // Longer than the history keeps a superseded generation (drop window + scan + 2 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  EXPECT_FALSE(cl.ProbeOnce("y/c", "x/b", k8s::Protocol::kTCP, 81, 300));
  EXPECT_FALSE(cl.ProbeOnce("z/d", "x/a", k8s::Protocol::kTCP, 80, 300));
  // a-from-c goes: node-a programs g4; the connection's next packet is cut.
  dir.Remove("a-from-c.yaml");
  ASSERT_GT(wait_past("node-a", g2), g2);
  EXPECT_FALSE((*session)->Echo(300));
  for (const char* node : {"node-a", "node-b"}) ASSERT_TRUE(cl.StopAgent(node).ok());

  std::vector<FlowRecord> all;
  for (const char* node : {"node-a", "node-b"}) {
    auto read = ReadFlowLog(cl.FlowLogPath(node));
    ASSERT_TRUE(read.ok()) << read.status().message();
    all.insert(all.end(), read->begin(), read->end());
  }
  const std::set<std::string> pod_ips = {a, b, c, d};
  size_t about = 0, late_drops = 0;
  const FlowRecord* revoked = nullptr;
  for (const FlowRecord& r : all) {
    if (!(r.src.ip && pod_ips.contains(r.src.ip->str()) && r.dst.ip && pod_ips.contains(r.dst.ip->str()))) continue;
    ++about;
    EXPECT_EQ(Incomplete(r, pod_ips), "") << flowlog::ToJson(r);
    if (r.event == EventKind::kEnd && r.end_reason == "revoked") revoked = &r;
    if (r.event == EventKind::kDrop && r.node == "node-a" && r.dst.port == 81) late_drops += r.count;
  }
  EXPECT_GE(about, 8u) << Json(all);
  EXPECT_GE(late_drops, 1u) << Json(all);
  // The cut connection ends as it was admitted: generation g1, a-from-c.
  ASSERT_NE(revoked, nullptr) << Json(all);
  EXPECT_EQ(revoked->node, "node-a");
  EXPECT_EQ(revoked->generation, g1) << flowlog::ToJson(*revoked);
  EXPECT_EQ(revoked->policies, (std::vector<PolicyRef>{{"x", "a-from-c", Direction::kIngress, 0}}));
  EXPECT_EQ(revoked->src.pod, "c");
  EXPECT_EQ(revoked->dst.pod, "a");

  // Its timeline, from both nodes' logs: c's node saw it leave, a's node admitted it, wrote an
  // update as the first agent stopped, then the restarted agent cut it; c's node's last word
  // came as it stopped.
  auto timeline = RunProcess({BinDir() + "/netfencectl", "flows", "--file", cl.FlowLogPath("node-a"), "--file",
                              cl.FlowLogPath("node-b"), "--flow", revoked->community_id, "-o", "json"},
                             {}, "");
  ASSERT_TRUE(timeline.ok()) << timeline.status().message();
  ASSERT_EQ(timeline->exit_code, 0) << timeline->err;
  std::vector<std::string> steps;
  std::istringstream lines(timeline->out);
  for (std::string l; std::getline(lines, l);) {
    auto r = flowlog::ParseRecord(l);
    ASSERT_TRUE(r.ok()) << l;
    steps.push_back(r->node + " " + std::string(flowlog::EventName(r->event)));
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"node-b start", "node-a start", "node-a update", "node-a drop",
                                             "node-a end", "node-b update"}))
      << timeline->out;
}

// A flood from many source ports: each of the first tuples is a record of its own with its
// Community ID, the rest one `folded` record saying how many tuples and packets it holds.
TEST(E2eFlowLog, AFloodOfSourcePortsFoldsPastTheBoundIntoOneRecordSayingHowMuch) {
  ManifestDir dir;
  dir.Write("cluster.yaml", ClusterYaml());
  dir.Write("policy.yaml", AllowClient("allow-client"));
  NETFENCE_E2E_CLUSTER(c, Options(dir, {"--flow-drop-tuples", "4", "--flow-drop-window", "1h"}));
  constexpr int kSockets = 20, kEach = 5;
  for (int i = 0; i < kSockets; ++i) {
    auto sa = nettest::ParseAddr(kServer, 53);
    ASSERT_TRUE(sa.ok());
    auto fd = nettest::SocketIn(c->PodNetns("dev/debug"), AF_INET, SOCK_DGRAM, 0);
    ASSERT_TRUE(fd.ok()) << fd.status().message();
    auto local = nettest::ParseAddr(kDebug, static_cast<uint16_t>(42000 + i));
    ASSERT_EQ(::bind(fd->get(), local->get(), local->len), 0) << std::strerror(errno);
    for (int k = 0; k < kEach; ++k) ASSERT_GT(::sendto(fd->get(), "flood", 5, 0, sa->get(), sa->len), 0);
  }
  ASSERT_TRUE(c->StopAgent(kNode).ok());  // the open window is written
  auto read = ReadFlowLog(c->FlowLogPath(kNode));
  ASSERT_TRUE(read.ok()) << read.status().message();
  std::vector<FlowRecord> exact, folded;
  for (const FlowRecord& r : *read) {
    if (r.event != EventKind::kDrop || r.src.ip != IpAddr::Parse(kDebug) || r.dst.port != 53) continue;
    (r.aggregation == flowlog::Aggregation::kExact ? exact : folded).push_back(r);
  }
  ASSERT_EQ(exact.size(), 4u) << Json(*read);
  ASSERT_EQ(folded.size(), 1u) << Json(*read);
  std::set<uint16_t> ports;
  for (const FlowRecord& r : exact) {
    ASSERT_TRUE(r.src.port.has_value());
    ports.insert(*r.src.port);
    EXPECT_EQ(r.count, static_cast<uint64_t>(kEach));
    EXPECT_EQ(r.community_id, CommunityId(kDebug, *r.src.port, kServer, 53, 17));
    EXPECT_EQ(r.src.pod, "debug");
    EXPECT_EQ(r.dst.pod, "server");
  }
  EXPECT_EQ(ports.size(), 4u);
  const FlowRecord& f = folded[0];
  EXPECT_EQ(f.folded_tuples, static_cast<uint64_t>(kSockets - 4)) << flowlog::ToJson(f);
  EXPECT_EQ(f.count, static_cast<uint64_t>((kSockets - 4) * kEach));
  EXPECT_EQ(f.bytes, f.count * (kEthIp + 8 + 5));
  EXPECT_FALSE(f.src.port.has_value());
  EXPECT_EQ(f.community_id, "");
  EXPECT_EQ(f.src.pod, "debug");
  EXPECT_EQ(f.dst.pod, "server");
  EXPECT_EQ(f.policies, (std::vector<PolicyRef>{{"shop", "allow-client", Direction::kIngress, std::nullopt}}));
}

// probe-matrix --flow-log for each protocol, over IPv4 and IPv6.
struct ProbeCase {
  const char* protocol;
  uint8_t proto;
  bool v6;
};

class E2eFlowLogProbe : public ::testing::TestWithParam<ProbeCase> {};

TEST_P(E2eFlowLogProbe, ProbeMatrixFlowLogHasARecordForEveryPairWithTheProbesVerdict) {
  NETFENCE_REQUIRE_NETNS();
  const ProbeCase& pc = GetParam();
  // Two nodes: a and b on node-a, c on node-b. x/a takes only x/b; x/b may send only to x/a.
  const std::map<std::string, std::string> ip =
      pc.v6 ? std::map<std::string, std::string>{{"x/a", "fd00:81::1"}, {"x/b", "fd00:81::2"}, {"x/c", "fd00:81::3"}}
            : std::map<std::string, std::string>{{"x/a", "10.81.0.1"}, {"x/b", "10.81.0.2"}, {"x/c", "10.81.0.3"}};
  ManifestDir dir;
  auto pod = [&](const char* name, const char* node) {
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + std::string(name) +
           ", namespace: x, labels: {pod: " + name + "}}\nspec: {nodeName: " + node +
           ", containers: [{name: c}]}\nstatus: {podIP: \"" + ip.at(std::string("x/") + name) + "\"}\n---\n";
  };
  dir.Write("cluster.yaml", NamespaceYaml("x", "ns: x") + pod("a", "node-a") + pod("b", "node-a") + pod("c", "node-b"));
  const std::string ports = std::string("    ports: [{protocol: ") + pc.protocol + ", port: 80}]\n";
  dir.Write("policies.yaml",
            PolicyYaml("x", "a-from-b",
                       "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n"
                       "  - from: [{podSelector: {matchLabels: {pod: b}}}]\n" +
                           ports) +
                PolicyYaml("x", "b-to-a",
                           "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Egress]\n  egress:\n"
                           "  - to: [{podSelector: {matchLabels: {pod: a}}}]\n" +
                               ports));
  const std::string file = dir.path() + "/../" + nettest::UniqueName("probe-flows") + ".jsonl";
  auto run = RunProcess({BinDir() + "/netfence-probe-matrix", "--bin-dir", BinDir(), "--manifests", dir.path(),
                         "--protocol", pc.protocol, "--port", "80", "--flow-log", file, "--timeout-ms", "300", "-q"},
                        {{"PATH", std::getenv("PATH") ? std::getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin"}}, "");
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_EQ(run->exit_code, 0) << run->err;
  const auto matrix = nlohmann::json::parse(run->out);
  auto read = ReadFlowLog(file);
  ASSERT_TRUE(read.ok()) << read.status().message();
  int denied = 0;
  std::set<DotEdge> expected_edges;
  for (const auto& [src, row] : matrix["allowed"].items()) {
    for (const auto& [dst, allowed] : row.items()) {
      if (src == dst) continue;  // a pod reaches itself without crossing the datapath
      const bool want = allowed.get<bool>();
      denied += want ? 0 : 1;
      expected_edges.insert({src, dst, want ? "allowed" : "denied"});
      bool found = false;
      for (const FlowRecord& r : *read) {
        found |= r.src.ip == IpAddr::Parse(ip.at(src)) && r.dst.ip == IpAddr::Parse(ip.at(dst)) && r.dst.port == 80 &&
                 r.proto == pc.proto && r.event == (want ? EventKind::kStart : EventKind::kDrop) &&
                 r.verdict == (want ? Verdict::kAllowed : Verdict::kDenied) && r.src.pod == src.substr(2) &&
                 r.dst.pod == dst.substr(2);
      }
      EXPECT_TRUE(found) << src << " -> " << dst << " (" << (want ? "allowed" : "denied") << ")\n" << Json(*read);
    }
  }
  EXPECT_EQ(denied, 2);  // c -> a (a's ingress, at node-a's uplink) and b -> c (b's egress, at its veth)
  // Every record of the judged pairs, the last ones written as the agents stopped included, is
  // complete: both pods named, the Community ID of its 5-tuple, a denial naming its policies.
  std::set<std::string> pods;
  for (const auto& [key, addr] : ip) pods.insert(addr);
  size_t judged = 0;
  for (const FlowRecord& r : *read) {
    // Pods start (and, for IPv6, keep) sending link housekeeping (router solicitations,
    // multicast listener reports): none of it is a spoofing drop, or a record at all.
    EXPECT_NE(r.reason, flowlog::reason::kSpoofed) << flowlog::ToJson(r);
    EXPECT_FALSE(r.proto == 58 && r.src.ip && r.src.ip->str().rfind("fe80:", 0) == 0) << flowlog::ToJson(r);
    if (!(r.src.ip && pods.contains(r.src.ip->str()) && r.dst.ip && pods.contains(r.dst.ip->str()))) continue;
    ++judged;
    EXPECT_EQ(Incomplete(r, pods), "") << flowlog::ToJson(r);
  }
  EXPECT_GE(judged, 6u);
  // The graph of the run: exactly one edge per judged pair, with its verdict.
  auto dot = RunProcess({BinDir() + "/netfencectl", "flows", "--file", file, "-o", "dot"}, {}, "");
  ASSERT_TRUE(dot.ok()) << dot.status().message();
  ASSERT_EQ(dot->exit_code, 0) << dot->err;
  auto edges = DotEdges(dot->out);
  ASSERT_TRUE(edges.ok()) << edges.status().message();
  EXPECT_EQ(*edges, expected_edges) << dot->out;
  std::error_code ec;
  std::filesystem::remove(file, ec);
}

INSTANTIATE_TEST_SUITE_P(Protocols, E2eFlowLogProbe,
                         ::testing::Values(ProbeCase{"TCP", 6, false}, ProbeCase{"UDP", 17, false},
                                           ProbeCase{"SCTP", 132, false}, ProbeCase{"TCP", 6, true},
                                           ProbeCase{"UDP", 17, true}, ProbeCase{"SCTP", 132, true}),
                         [](const ::testing::TestParamInfo<ProbeCase>& param_info) {
                           return std::string(param_info.param.protocol) + (param_info.param.v6 ? "_IPv6" : "_IPv4");
                         });

}  // namespace
}  // namespace netfence::e2e
