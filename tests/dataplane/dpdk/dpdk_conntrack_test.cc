// SPDX-License-Identifier: Apache-2.0
// Connection tracking, generations and events of the DPDK pipeline, each packet decided by the
// pipeline and by the XDP program (BPF_PROG_TEST_RUN, conntrack and events on) and the two
// compared: replies pass on the connection's entry, a new generation re-checks established
// connections (revoked ones are cut with an event, allowed ones continue), TCP close and
// reopen, ICMP errors follow their connection, ICMP echo is tracked; then random sequences of
// connections, flags and generation swaps with the same decisions, the same events and the
// same connection tables on both sides.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/xdp/event_reader.h"
#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/dpdk/record_diff.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/differential/random_cluster.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::dpdktest {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;
using xdptest::PacketBuilder;

const IpAddr kClient = *IpAddr::Parse("10.0.0.2");
const IpAddr kServer = *IpAddr::Parse("10.0.0.1");
const IpAddr kAdmin = *IpAddr::Parse("10.0.0.3");
constexpr uint16_t kEphemeral = 40000;
constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04;

// The client takes no ingress at all (a reply reaches it only through conntrack); the server
// takes from the client what `server_ports` says, and ICMP from the admin.
std::string Yaml(const std::string& server_ports) {
  std::string rule = "  - from: [{podSelector: {matchLabels: {app: client}}}]\n";
  if (!server_ports.empty()) rule += "    ports: " + server_ports + "\n";
  return PodYaml("default", "client", "app: client", kClient.str()) +
         PodYaml("default", "server", "app: server", kServer.str()) +
         PodYaml("default", "admin", "app: admin", kAdmin.str()) +
         PolicyYaml("default", "client-in", "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Ingress]\n") +
         PolicyYaml("default", "server-in",
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n" + rule +
                        "  - from: [{podSelector: {matchLabels: {app: admin}}}]\n    ports: [{protocol: SCTP, port: "
                        "1}]\n");
}
const char* kTcpUdp80 = "[{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]";
const char* kUdp80 = "[{protocol: UDP, port: 80}]";

std::vector<uint8_t> Tcp(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport, uint8_t flags) {
  return PacketBuilder().Ipv4(src, dst).TcpFlags(flags).Tcp(dport, sport).Build();
}
std::vector<uint8_t> Udp(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport) {
  return PacketBuilder().Ipv4(src, dst).Udp(dport, sport).Payload(20).Build();
}

xdp::LoadOptions XdpStateful() {
  xdp::LoadOptions o;
  o.record_decisions = true;
  o.conntrack_entries = 65536;
  o.ring_bytes = 1 << 20;
  return o;
}

// An event without what only one side can know (times, the interface the test run names).
std::string EventText(nf_event e) {
  e.ts_ns = 0;
  e.ct_created_ns = 0;
  e.ifindex = 0;
  std::string out(reinterpret_cast<const char*>(&e), sizeof(e));
  return out;
}

class Twin : public ::testing::Test {
 protected:
  void SetUp() override {
    NETFENCE_REQUIRE_DPDK();
    NETFENCE_REQUIRE_BPF();
    auto h = Harness::Create(StatefulOptions(1 << 16));
    ASSERT_TRUE(h.ok()) << h.status().message();
    dpdk_ = std::move(h).value();
    auto loaded = xdp::XdpProgram::Load(XdpStateful());
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    xdp_ = std::move(loaded).value();
    xdp_run_ = std::make_unique<xdptest::Harness>(*xdp_);
    auto reader = xdp::EventReader::Create(xdp_->map_fd(xdp::Map::kEvents),
                                           [this](const nf_event& e) { xdp_events_.push_back(e); });
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    reader_ = std::move(reader).value();
  }
  void Program(const v1::RuleTables& t) {
    ASSERT_TRUE(dpdk_->dp().Program(t).ok());
    ASSERT_TRUE(xdp_->Program(t).ok());
    EXPECT_EQ(dpdk_->dp().live_epoch(), xdp_->live_epoch());
  }
  void Program(const std::string& server_ports, uint64_t generation) {
    clusters_.push_back(std::make_unique<testing::Cluster>(Yaml(server_ports)));
    v1::RuleTables t = clusters_.back()->tables();
    t.set_generation(generation);
    Program(t);
  }
  // Both sides decide `frame`; they must agree. Returns the pipeline's decision.
  DpdkRun Both(const std::vector<uint8_t>& frame) {
    const DpdkRun d = dpdk_->RunOne(frame);
    const xdptest::RunResult x = xdp_run_->Run(frame);
    EXPECT_EQ(RecordDiff(d, x), "");
    return d;
  }
  DpdkRun Expect(const std::vector<uint8_t>& frame, uint32_t action, uint32_t path, int reason = -1) {
    const DpdkRun d = Both(frame);
    EXPECT_EQ(d.action, action);
    EXPECT_EQ(d.decision.path, path);
    if (reason >= 0) {
      EXPECT_EQ(d.decision.drop_reason, static_cast<uint32_t>(reason));
    }
    return d;
  }
  // Both sides' events since the last call, which must be the same; the pipeline's.
  std::vector<nf_event> Events() {
    EXPECT_TRUE(reader_->Drain().ok());
    std::vector<nf_event> d = dpdk_->Events();
    std::vector<nf_event> x = std::exchange(xdp_events_, {});
    EXPECT_EQ(d.size(), x.size());
    for (size_t i = 0; i < std::min(d.size(), x.size()); ++i) {
      EXPECT_EQ(EventText(d[i]), EventText(x[i])) << "event " << i << " of kind " << int(d[i].kind);
    }
    return d;
  }
  // Both connection tables, which must hold the same connections with the same state.
  void ExpectSameConntrack() {
    std::vector<fastpath::CtEntry> d, x;
    ASSERT_TRUE(dpdk_->dp().ReadConntrack(&d).ok());
    ASSERT_TRUE(xdp_->ReadConntrack(&x).ok());
    auto text = [](const fastpath::CtEntry& c) {
      nf_ct_entry e = c.entry;
      e.created_ns = e.last_seen_ns = 0;
      e.ifindex = 0;
      return std::string(reinterpret_cast<const char*>(&c.key), sizeof(c.key)) +
             std::string(reinterpret_cast<const char*>(&e), sizeof(e));
    };
    std::vector<std::string> a, b;
    for (const auto& c : d) a.push_back(text(c));
    for (const auto& c : x) b.push_back(text(c));
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a.size(), b.size());
    EXPECT_TRUE(a == b) << "the connection tables differ";
  }

  std::vector<std::unique_ptr<testing::Cluster>> clusters_;
  std::unique_ptr<Harness> dpdk_;
  std::unique_ptr<xdp::XdpProgram> xdp_;
  std::unique_ptr<xdptest::Harness> xdp_run_;
  std::unique_ptr<xdp::EventReader> reader_;
  std::vector<nf_event> xdp_events_;
};

TEST_F(Twin, RepliesPassOnTheEntryAndNewFlowsAreClassified) {
  Program(kTcpUdp80, 1);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  // The client takes no ingress: only the entry lets the reply in.
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Tcp(kServer, 81, kClient, kEphemeral + 1, kSyn), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  Expect(Udp(kClient, kEphemeral, kServer, 80), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Udp(kServer, 80, kClient, kEphemeral), XDP_PASS, NF_CNT_PASS_CT);
  const std::vector<nf_event> ev = Events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, NF_EV_NEW_FLOW);
  EXPECT_EQ(ev[0].ct_packets[0], 1u);
  EXPECT_NE(ev[0].ct_created_ns, 0u);
  EXPECT_EQ(ev[1].kind, NF_EV_DROP);
  EXPECT_EQ(ev[1].reason, NF_DROP_POLICY);
  ExpectSameConntrack();
  const auto c = dpdk_->dp().ReadCounters();
  EXPECT_EQ(c[NF_CNT_PASS_CT], 3u);
  EXPECT_EQ(c[NF_CNT_CT_CREATED], 2u);
}

TEST_F(Twin, ANewGenerationCutsRevokedConnectionsAndKeepsAllowedOnes) {
  Program(kTcpUdp80, 1);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Udp(kClient, kEphemeral, kServer, 80), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
  (void)Events();
  Program(kUdp80, 2);  // TCP/80 revoked
  // The reply direction is re-checked as the client opened it: revoked, cut, an event.
  const DpdkRun cut = Expect(Tcp(kServer, 80, kClient, kEphemeral, kAck), XDP_DROP, NF_CNT_DROP, NF_DROP_REVOKED);
  EXPECT_EQ(cut.decision.verdict.ingress_outcome, static_cast<uint32_t>(NF_DENIED));
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kAck), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);  // the entry is gone
  Expect(Udp(kServer, 80, kClient, kEphemeral), XDP_PASS, NF_CNT_PASS_RECHECKED);
  Expect(Udp(kServer, 80, kClient, kEphemeral), XDP_PASS, NF_CNT_PASS_CT);
  const std::vector<nf_event> ev = Events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, NF_EV_REVOKED);
  EXPECT_EQ(ev[0].generation, 2u);
  EXPECT_EQ(ev[0].ct_packets[0], 1u);  // the cut connection's last counters
  EXPECT_EQ(ev[0].ct_packets[1], 1u);
  ExpectSameConntrack();
}

TEST_F(Twin, TcpCloseAndReopen) {
  Program(kTcpUdp80, 1);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kFin | kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kFin | kAck), XDP_PASS, NF_CNT_PASS_CT);
  std::vector<fastpath::CtEntry> entries;
  ASSERT_TRUE(dpdk_->dp().ReadConntrack(&entries).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].entry.flags & NF_CT_CLOSED);
  // A fresh SYN on the closed connection's 5-tuple is a new connection.
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kRst), XDP_PASS, NF_CNT_PASS_CT);
  ASSERT_TRUE(dpdk_->dp().ReadConntrack(&entries).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].entry.flags & NF_CT_CLOSED);
  ExpectSameConntrack();
  (void)Events();
}

TEST_F(Twin, IcmpErrorsFollowTheirConnectionAndEchoIsTracked) {
  Program("", 1);  // the server takes everything from the client
  Expect(Udp(kClient, kEphemeral, kServer, 80), XDP_PASS, NF_CNT_PASS_NEW);
  // The server's port-unreachable about that datagram, to a client that takes no ingress.
  const auto quoted = Udp(kClient, kEphemeral, kServer, 80);
  const std::vector<uint8_t> inner(quoted.begin() + 14, quoted.begin() + 14 + 28);
  Expect(PacketBuilder().Ipv4(kServer, kClient).IcmpMessage(3, 0, inner).Build(), XDP_PASS, NF_CNT_PASS_RELATED);
  // About a connection that does not exist: classified as ICMP, denied.
  const auto other = Udp(kClient, kEphemeral + 9, kServer, 80);
  Expect(PacketBuilder().Ipv4(kServer, kClient).IcmpMessage(3, 0, {other.begin() + 14, other.begin() + 42}).Build(),
         XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  // Echo: the client's request is new, the server's reply rides on it, another id does not.
  Expect(PacketBuilder().Ipv4(kClient, kServer).IcmpMessage(8, 77).Build(), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(PacketBuilder().Ipv4(kServer, kClient).IcmpMessage(0, 77).Build(), XDP_PASS, NF_CNT_PASS_CT);
  Expect(PacketBuilder().Ipv4(kServer, kClient).IcmpMessage(0, 78).Build(), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  (void)Events();
  ExpectSameConntrack();
}

// Random sequences: connections between the pods of random clusters, packets in both
// directions with random TCP flags, the tables swapped now and then between the cluster's and
// a variant with half its policies (revocations both ways). Every decision, every event and
// the final connection tables are the same on both sides.
TEST_F(Twin, RandomSequencesAgree) {
  int packets = 0, revoked = 0, rechecked = 0, ct_hits = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed * 7919);
    const k8s::ClusterState full = reference::RandomCluster(rng);
    k8s::ClusterState half = full;
    std::shuffle(half.policies.begin(), half.policies.end(), rng);
    half.policies.resize(half.policies.size() / 2);
    v1::RuleTables tables[2] = {compiler::Compile(full), compiler::Compile(half)};
    ASSERT_TRUE(dpdk_->dp().FlushConntrack().ok());
    ASSERT_TRUE(xdp_->FlushConntrack().ok());
    uint64_t generation = seed * 100;
    tables[0].set_generation(++generation);
    Program(tables[0]);
    struct Conn {
      reference::Packet p;
      uint16_t sport;
    };
    std::vector<Conn> conns;
    for (int i = 0; i < 40; ++i)
      conns.push_back({reference::RandomPacket(rng, full), static_cast<uint16_t>(30000 + i)});
    for (int step = 0; step < 600; ++step) {
      if (rng() % 100 == 0) {
        const int which = static_cast<int>(rng() % 2);
        tables[which].set_generation(++generation);
        Program(tables[which]);
      }
      const Conn& c = conns[rng() % conns.size()];
      const bool reply = rng() % 2 == 1;
      const IpAddr& src = reply ? c.p.dst : c.p.src;
      const IpAddr& dst = reply ? c.p.src : c.p.dst;
      PacketBuilder b;
      b.Ip(src, dst);
      static const uint8_t kFlags[] = {kSyn, kSyn | kAck, kAck, kAck, kAck, kFin | kAck, kRst};
      if (c.p.proto == 6) b.TcpFlags(kFlags[rng() % std::size(kFlags)]);
      const uint16_t dport = reply ? c.sport : c.p.dport, sport = reply ? c.p.dport : c.sport;
      switch (c.p.proto) {
        case 1:
        case 58:
          b.IcmpMessage(c.p.proto == 1 ? (reply ? 0 : 8) : (reply ? 129 : 128), c.sport);
          break;
        case 6:
          b.Tcp(dport, sport);
          break;
        case 17:
          b.Udp(dport, sport);
          break;
        default:
          b.Sctp(dport, sport);
      }
      const DpdkRun d = Both(b.Build());
      ++packets;
      revoked += d.decision.drop_reason == NF_DROP_REVOKED && d.action == XDP_DROP;
      rechecked += d.decision.path == NF_CNT_PASS_RECHECKED;
      ct_hits += d.decision.path == NF_CNT_PASS_CT;
      if (HasFailure()) {
        ADD_FAILURE() << "seed " << seed << " step " << step;
        return;
      }
    }
    (void)Events();
    ExpectSameConntrack();
  }
  std::cout << "[dpdk conntrack twin] " << packets << " packets: " << ct_hits << " conntrack hits, " << rechecked
            << " re-checked, " << revoked << " revoked\n";
  EXPECT_GT(ct_hits, packets / 10);
  EXPECT_GT(rechecked, 0);
  EXPECT_GT(revoked, 0);
}

}  // namespace
}  // namespace netfence::dpdktest
