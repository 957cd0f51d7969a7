// SPDX-License-Identifier: Apache-2.0
// The flow log end to end, with real packets through the CNI chain and netfence-agent: known
// traffic gives exactly the expected records (counts, bytes within header accounting, verdicts,
// directions, rules, Community ID); a policy changed between two connections leaves each record
// naming the rule of its own generation; an active connection has an update every interval; a
// ring overflow provoked on purpose is stated in the log, agreeing with /metrics. The live
// stream, restarts, folding and probe-matrix: e2e_flowlog_stream_test.cc.
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

TEST(E2eFlowLog, KnownTrafficGivesExactlyTheExpectedRecords) {
  ManifestDir dir;
  dir.Write("cluster.yaml", ClusterYaml());
  dir.Write("policy.yaml", AllowClient("allow-client"));
  NETFENCE_E2E_CLUSTER(c, Options(dir, {"--flow-update-interval", "1h"}));
  const uint64_t gen = Generation(*c);
  ASSERT_NE(gen, 0u);

  // Known traffic: three TCP connections of known sizes, two UDP exchanges, denied attempts.
  std::vector<nettest::Transfer> tcp;
  for (size_t bytes : {100, 5000, 40000}) {
    auto t = nettest::TcpTransfer(c->PodNetns("shop/client"), kServer, 80, bytes);
    ASSERT_TRUE(t.ok()) << t.status().message();
    tcp.push_back(*t);
  }
  const std::pair<int, size_t> udp_shapes[] = {{3, 100}, {5, 1000}};
  std::vector<nettest::Transfer> udp;
  for (auto [count, size] : udp_shapes) {
    auto t = nettest::UdpExchange(c->PodNetns("shop/client"), kServer, 53, count, size);
    ASSERT_TRUE(t.ok()) << t.status().message();
    udp.push_back(*t);
  }
  ASSERT_EQ(UdpBlast(c->PodNetns("dev/debug"), kServer, 53, 4), 4);  // one socket: one 5-tuple
  EXPECT_FALSE(c->ProbeOnce("shop/client", "shop/server", k8s::Protocol::kTCP, 81, 300));

  // The connections end (closed) and the drops' window closes; then the agent stops, writing
  // an update of every open connection (the UDP ones) with its final counters.
  WaitForLog(*c, kNode, [&](const std::vector<FlowRecord>& log) {
    for (const auto& t : tcp) {
      if (Of(log, EventKind::kEnd, 6, t.local_port).empty()) return false;
    }
    uint64_t debug_drops = 0;
    for (const FlowRecord& r : log) {
      if (r.event == EventKind::kDrop && r.src.ip == IpAddr::Parse(kDebug)) debug_drops += r.count;
    }
    return debug_drops == 4;
  });
  ASSERT_TRUE(c->StopAgent(kNode).ok());
  auto read = ReadFlowLog(c->FlowLogPath(kNode));
  ASSERT_TRUE(read.ok()) << read.status().message();
  const std::vector<FlowRecord>& log = *read;

  auto expect_pod = [](const flowlog::Endpoint& e, const char* ip, const char* ns, const char* pod) {
    EXPECT_EQ(e.ip, IpAddr::Parse(ip));
    EXPECT_EQ(e.ns, ns);
    EXPECT_EQ(e.pod, pod);
    EXPECT_EQ(e.node, kNode);
    EXPECT_TRUE(e.identity.has_value());
  };
  const std::vector<PolicyRef> allowing = {{"shop", "allow-client", Direction::kIngress, 0}};
  const std::vector<PolicyRef> isolating = {{"shop", "allow-client", Direction::kIngress, std::nullopt}};
  size_t explained = 0;
  for (size_t i = 0; i < tcp.size(); ++i) {
    const auto& t = tcp[i];
    const std::string what =
        "TCP connection " + std::to_string(i) + " (" + std::to_string(t.sent) + " bytes)\n" + Json(log);
    const auto starts = Of(log, EventKind::kStart, 6, t.local_port);
    const auto ends = Of(log, EventKind::kEnd, 6, t.local_port);
    ASSERT_EQ(starts.size(), 1u) << what;
    ASSERT_EQ(ends.size(), 1u) << what;
    EXPECT_TRUE(Of(log, EventKind::kUpdate, 6, t.local_port).empty()) << what;
    explained += 2;
    for (const FlowRecord* r : {&starts[0], &ends[0]}) {
      EXPECT_EQ(r->node, kNode);
      EXPECT_EQ(r->observation_point, "xdp");
      EXPECT_EQ(r->verdict, Verdict::kAllowed);
      EXPECT_EQ(r->direction, Direction::kIngress);
      EXPECT_EQ(r->reason, "policy");
      expect_pod(r->src, kClient, "shop", "client");
      expect_pod(r->dst, kServer, "shop", "server");
      EXPECT_EQ(r->dst.port, 80);
      EXPECT_EQ(r->src.labels, (std::vector<std::pair<std::string, std::string>>{{"app", "client"}}));
      EXPECT_EQ(r->policies, allowing);
      EXPECT_EQ(r->generation, gen);
      EXPECT_EQ(r->community_id, CommunityId(kClient, t.local_port, kServer, 80, 6));
      EXPECT_EQ(r->flow_id, starts[0].flow_id);
    }
    EXPECT_EQ(starts[0].packets, 1u);
    EXPECT_EQ(starts[0].tcp_flags_src, kSyn);
    ExpectTcpBytes(starts[0].bytes, 1, 0, what);
    const FlowRecord& e = ends[0];
    EXPECT_EQ(e.end_reason, "closed") << what;
    ExpectTcpBytes(e.src_bytes, e.src_packets, t.sent, what);
    ExpectTcpBytes(e.dst_bytes, e.dst_packets, t.received, what);
    EXPECT_EQ(e.packets, e.src_packets + e.dst_packets);
    EXPECT_EQ(e.bytes, e.src_bytes + e.dst_bytes);
    EXPECT_EQ(e.tcp_flags_src & (kSyn | kAck | kFin), kSyn | kAck | kFin) << what;
    EXPECT_EQ(e.tcp_flags_dst & (kSyn | kAck | kFin), kSyn | kAck | kFin) << what;
    EXPECT_GE(e.end_time_ns, e.start_time_ns);
  }
  for (size_t i = 0; i < udp.size(); ++i) {
    const auto [count, size] = udp_shapes[i];
    const std::string what = "UDP exchange " + std::to_string(i) + "\n" + Json(log);
    const auto starts = Of(log, EventKind::kStart, 17, udp[i].local_port);
    const auto updates = Of(log, EventKind::kUpdate, 17, udp[i].local_port);
    ASSERT_EQ(starts.size(), 1u) << what;
    ASSERT_EQ(updates.size(), 1u) << what;  // written as the agent stopped: the final counters
    EXPECT_TRUE(Of(log, EventKind::kEnd, 17, udp[i].local_port).empty()) << what;  // still open (60 s)
    explained += 2;
    EXPECT_EQ(starts[0].packets, 1u);
    EXPECT_EQ(starts[0].bytes, kEthIp + 8 + size);
    const FlowRecord& u = updates[0];
    EXPECT_EQ(u.src_packets, static_cast<uint64_t>(count));
    EXPECT_EQ(u.dst_packets, static_cast<uint64_t>(count));
    EXPECT_EQ(u.src_bytes, count * (kEthIp + 8 + size));  // UDP headers are fixed: exact
    EXPECT_EQ(u.dst_bytes, count * (kEthIp + 8 + size));
    EXPECT_EQ(u.policies, allowing);
    EXPECT_EQ(u.community_id, CommunityId(kClient, udp[i].local_port, kServer, 53, 17));
    EXPECT_EQ(u.flow_id, starts[0].flow_id);
  }
  // Denied: the debug pod's datagrams, counted exactly in drop records; the client's TCP/81.
  uint64_t debug_drops = 0, tcp81_drops = 0;
  for (const FlowRecord& r : log) {
    if (r.event != EventKind::kDrop || !About(r, {kClient, kServer, kDebug})) continue;
    ++explained;
    EXPECT_EQ(r.verdict, Verdict::kDenied);
    EXPECT_EQ(r.direction, Direction::kIngress);
    EXPECT_EQ(r.reason, "default-deny");
    EXPECT_EQ(r.policies, isolating);
    EXPECT_EQ(r.generation, gen);
    EXPECT_EQ(r.aggregation, flowlog::Aggregation::kExact);
    expect_pod(r.dst, kServer, "shop", "server");
    if (r.src.ip == IpAddr::Parse(kDebug)) {
      expect_pod(r.src, kDebug, "dev", "debug");
      EXPECT_EQ(r.proto, 17);
      EXPECT_EQ(r.dst.port, 53);
      ASSERT_TRUE(r.src.port.has_value());
      EXPECT_EQ(r.community_id, CommunityId(kDebug, *r.src.port, kServer, 53, 17));
      EXPECT_EQ(r.bytes, r.count * (kEthIp + 8 + 15));  // "netfence-blast" and its NUL
      debug_drops += r.count;
    } else {
      EXPECT_EQ(r.proto, 6);
      EXPECT_EQ(r.dst.port, 81);
      tcp81_drops += r.count;
    }
  }
  EXPECT_EQ(debug_drops, 4u) << Json(log);
  EXPECT_GE(tcp81_drops, 1u) << Json(log);
  // Nothing else about these pods.
  size_t about = 0;
  for (const FlowRecord& r : log) about += About(r, {kClient, kServer, kDebug}) ? 1 : 0;
  EXPECT_EQ(about, explained) << Json(log);
}

TEST(E2eFlowLog, APolicyChangedBetweenTwoConnectionsLeavesEachRecordWithItsOwnGeneration) {
  ManifestDir dir;
  dir.Write("cluster.yaml", ClusterYaml());
  dir.Write("policy.yaml", AllowClient("allow-web"));
  NETFENCE_E2E_CLUSTER(c, Options(dir));
  auto wait_past = [&](uint64_t g) {
    for (int i = 0; i < 200 && Generation(*c) <= g; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return Generation(*c);
  };
  const uint64_t g1 = Generation(*c);
  auto t1 = nettest::TcpTransfer(c->PodNetns("shop/client"), kServer, 80, 1000);
  ASSERT_TRUE(t1.ok()) << t1.status().message();
  dir.Write("policy.yaml", AllowClient("allow-web-v2"));  // allow-web is gone, allow-web-v2 replaces it
  const uint64_t g2 = wait_past(g1);
  ASSERT_GT(g2, g1);
  auto t2 = nettest::TcpTransfer(c->PodNetns("shop/client"), kServer, 80, 1000);
  ASSERT_TRUE(t2.ok()) << t2.status().message();
  dir.Remove("policy.yaml");  // no policy at all
  const uint64_t g3 = wait_past(g2);
  ASSERT_GT(g3, g2);
  auto t3 = nettest::TcpTransfer(c->PodNetns("shop/client"), kServer, 80, 1000);
  ASSERT_TRUE(t3.ok()) << t3.status().message();

  const auto log = WaitForLog(*c, kNode, [&](const std::vector<FlowRecord>& l) {
    for (const auto* t : {&*t1, &*t2, &*t3}) {
      if (Of(l, EventKind::kEnd, 6, t->local_port).empty()) return false;
    }
    return true;
  });
  struct Want {
    const nettest::Transfer* t;
    uint64_t generation;
    const char* reason;
    std::vector<PolicyRef> policies;
  };
  const Want wants[] = {{&*t1, g1, "policy", {{"shop", "allow-web", Direction::kIngress, 0}}},
                        {&*t2, g2, "policy", {{"shop", "allow-web-v2", Direction::kIngress, 0}}},
                        {&*t3, g3, "no-policy", {}}};
  for (const Want& w : wants) {
    for (EventKind kind : {EventKind::kStart, EventKind::kEnd}) {
      const auto rs = Of(log, kind, 6, w.t->local_port);
      ASSERT_EQ(rs.size(), 1u) << Json(log);
      EXPECT_EQ(rs[0].generation, w.generation) << flowlog::ToJson(rs[0]);
      EXPECT_EQ(rs[0].reason, w.reason) << flowlog::ToJson(rs[0]);
      EXPECT_EQ(rs[0].policies, w.policies) << flowlog::ToJson(rs[0]);
    }
  }
}

TEST(E2eFlowLog, AnActiveConnectionHasAnUpdateEveryIntervalWithItsTotalsSoFar) {
  ManifestDir dir;
  dir.Write("cluster.yaml", ClusterYaml());
  dir.Write("policy.yaml", AllowClient("allow-client"));
  NETFENCE_E2E_CLUSTER(c, Options(dir, {"--flow-update-interval", "1s"}));
  auto session = nettest::UdpSession::Open(c->PodNetns("shop/client"), kServer, 53);  // one echo
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto updates_with = [&](uint64_t packets) {
    return WaitForLog(*c, kNode, [&](const std::vector<FlowRecord>& l) {
      for (const FlowRecord& r : l) {
        if (r.event == EventKind::kUpdate && r.proto == 17 && r.dst.port == 53 && r.packets == packets) return true;
      }
      return false;
    });
  };
  auto log = updates_with(2);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*session)->Echo());
  log = updates_with(8);
  std::vector<FlowRecord> updates;
  for (const FlowRecord& r : log) {
    if (r.event == EventKind::kUpdate && r.proto == 17 && r.dst.port == 53) updates.push_back(r);
  }
  // An update per interval in which the connection moved, with the totals so far: 2 packets
  // after the first echo, 8 after the fourth; never an update of an interval without packets.
  ASSERT_GE(updates.size(), 2u) << Json(log);
  EXPECT_EQ(updates.front().src_packets, 1u);
  EXPECT_EQ(updates.front().dst_packets, 1u);
  EXPECT_EQ(updates.back().src_packets, 4u);
  EXPECT_EQ(updates.back().dst_packets, 4u);
  EXPECT_EQ(updates.back().src_bytes, 4 * (kEthIp + 8 + 8));  // 8-byte nonces
  for (size_t i = 1; i < updates.size(); ++i) {
    EXPECT_GT(updates[i].packets, updates[i - 1].packets) << Json(log);
    EXPECT_GT(updates[i].time_ns, updates[i - 1].time_ns);
    EXPECT_EQ(updates[i].flow_id, updates[0].flow_id);
    EXPECT_EQ(updates[i].start_time_ns, updates[0].start_time_ns);
  }
}

// The blast's datagrams (debug -> server, UDP) counted by the drop records whose events fitted,
// once their window closed.
uint64_t BlastDrops(const std::vector<FlowRecord>& log) {
  uint64_t dropped = 0;
  for (const FlowRecord& r : log) {
    if (r.event == EventKind::kDrop && r.proto == 17 && r.src.ip == IpAddr::Parse(kDebug)) dropped += r.count;
  }
  return dropped;
}

TEST(E2eFlowLog, ARingOverflowIsStatedInTheLogAndTheMetricsAgree) {
  ManifestDir dir;
  dir.Write("cluster.yaml", ClusterYaml());
  dir.Write("policy.yaml", AllowClient("allow-client"));
  NETFENCE_E2E_CLUSTER(c, Options(dir, {"--flow-ring-bytes", "4096", "--flow-drop-window", "500ms"}));
  // The flow log's reader is stopped: the datapath goes on deciding, its ring fills up.
  ASSERT_EQ(::kill(c->AgentPid(kNode), SIGSTOP), 0);
  auto allowed = nettest::UdpExchange(c->PodNetns("shop/client"), kServer, 53, 3, 100);
  const int blast = UdpBlast(c->PodNetns("dev/debug"), kServer, 53, 2000);
  ASSERT_EQ(::kill(c->AgentPid(kNode), SIGCONT), 0);
  ASSERT_TRUE(allowed.ok()) << "a verdict waited for the stopped flow log: " << allowed.status().message();
  ASSERT_GT(blast, 0);

  // Every datapath event was either read by the pipeline or counted as lost; the log says
  // how many were lost, and /metrics says the same.
  const nettest::Netns& ns = c->NodeNetns(kNode);
  std::string metrics;
  uint64_t logged_lost = 0;
  std::vector<FlowRecord> log;
  for (int i = 0; i < 150; ++i) {
    auto m = HttpGetIn(ns, Cluster::kMetricsAddress, "/metrics");
    ASSERT_TRUE(m.ok()) << m.status().message();
    metrics = *m;
    auto read = ReadFlowLog(c->FlowLogPath(kNode));
    ASSERT_TRUE(read.ok()) << read.status().message();
    log = std::move(read).value();
    logged_lost = 0;
    for (const FlowRecord& r : log) {
      if (r.event == EventKind::kLost && r.lost_at == "ring-buffer") logged_lost += r.lost_events;
    }
    const auto lost = MetricValue(metrics, "netfence_flow_events_lost_total{at=\"ring-buffer\"}");
    const auto read_events = MetricValue(metrics, "netfence_flow_events_total");
    const auto news = MetricValue(metrics, "netfence_datapath_packets_total{path=\"new\"}");
    const auto drops = MetricValue(metrics, "netfence_datapath_packets_total{path=\"drop\"}");
    if (lost && read_events && news && drops && logged_lost == *lost && *read_events + *lost == *news + *drops &&
        BlastDrops(log) > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double lost = MetricValue(metrics, "netfence_flow_events_lost_total{at=\"ring-buffer\"}").value_or(-1);
  EXPECT_GT(lost, 0) << metrics;
  EXPECT_EQ(static_cast<double>(logged_lost), lost) << metrics << Json(log);
  EXPECT_EQ(MetricValue(metrics, "netfence_flow_events_total").value_or(-1) + lost,
            MetricValue(metrics, "netfence_datapath_packets_total{path=\"new\"}").value_or(-2) +
                MetricValue(metrics, "netfence_datapath_packets_total{path=\"drop\"}").value_or(-2))
      << metrics;
  // The exchange made during the stop was logged (its event fitted), and so were some drops.
  EXPECT_EQ(Of(log, EventKind::kStart, 17, allowed->local_port).size(), 1u) << Json(log);
  // The lost events may be anyone's (the pods' own ICMPv6 reports are denied too): only the
  // blast's drops that fitted are known to be the blast's.
  const uint64_t dropped = BlastDrops(log);
  EXPECT_GT(dropped, 0u);
  EXPECT_LE(dropped, static_cast<uint64_t>(blast)) << "more drops than datagrams" << Json(log);
  EXPECT_LE(static_cast<double>(dropped + logged_lost),
            MetricValue(metrics, "netfence_datapath_packets_total{path=\"drop\"}").value_or(-1) +
                MetricValue(metrics, "netfence_datapath_packets_total{path=\"new\"}").value_or(-1));
  EXPECT_EQ(MetricValue(metrics, "netfence_agent_ready"), 1);
  EXPECT_TRUE(HttpGetIn(ns, Cluster::kMetricsAddress, "/readyz").ok());
  EXPECT_TRUE(HttpGetIn(ns, Cluster::kMetricsAddress, "/livez").ok());
}

}  // namespace
}  // namespace netfence::e2e
