// SPDX-License-Identifier: Apache-2.0
// Connection tracking, generations and events of the XDP program, by BPF_PROG_TEST_RUN:
// replies pass on the connection's entry, a new table generation re-checks established
// connections (revoked ones are cut, allowed ones continue), ICMP errors follow their
// connection, TCP close is tracked, events carry what the flow log needs and ring overflow
// is counted, and pinned maps survive the program's process.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/xdp/event_reader.h"
#include "dataplane/xdp/map_entries.h"
#include "tests/dataplane/xdp/conntrack_fixture.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/dataplane/xdp/xdp_harness.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::xdptest {
namespace {

TEST_F(ConntrackTest, RepliesOfAnAllowedConnectionPassWithoutClassification) {
  Program(kTcpUdp80, 1);
  // Stateless, the reply is denied: the client takes no ingress.
  EXPECT_FALSE(clusters_.back()->Allowed(kServer.str(), kClient.str(), kEphemeral));
  const auto syn = Tcp(kClient, kEphemeral, kServer, 80, kSyn);
  const auto synack = Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck);
  const auto ack = Tcp(kClient, kEphemeral, kServer, 80, kAck);
  Expect(synack, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);  // no connection yet
  Expect(syn, XDP_PASS, NF_CNT_PASS_NEW);
  Expect(synack, XDP_PASS, NF_CNT_PASS_CT);
  Expect(ack, XDP_PASS, NF_CNT_PASS_CT);
  nf_ct_entry e{};
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &e));
  EXPECT_EQ(e.packets[0], 2u);
  EXPECT_EQ(e.packets[1], 1u);
  EXPECT_EQ(e.bytes[0], syn.size() + ack.size());
  EXPECT_EQ(e.bytes[1], synack.size());
  EXPECT_EQ(e.tcp_flags[0], kSyn | kAck);
  EXPECT_EQ(e.tcp_flags[1], kSyn | kAck);
  EXPECT_EQ(e.flags & NF_CT_SEEN_REPLY, NF_CT_SEEN_REPLY);
  EXPECT_EQ(e.dport, 80);
  EXPECT_EQ(e.epoch, program_->live_epoch());
  EXPECT_EQ(e.egress_rule, NF_NO_RULE);  // the client has no egress policy
  EXPECT_EQ(e.ingress_rule, 0u);         // server-in, rule 0
  // A denied attempt leaves no entry; nor does the server opening a connection to the client.
  Expect(Tcp(kClient, kEphemeral, kServer, 81, kSyn), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  EXPECT_FALSE(Entry(kClient, kEphemeral, kServer, 81, 6, &e));
  Expect(Tcp(kServer, 5000, kClient, 22, kSyn), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  const xdp::Counters c = program_->ReadCounters();
  EXPECT_EQ(c[NF_CNT_PASS_NEW], 1u);
  EXPECT_EQ(c[NF_CNT_PASS_CT], 2u);
  EXPECT_EQ(c[NF_CNT_CT_CREATED], 1u);
  EXPECT_EQ(c[NF_CNT_DROP], 3u);
}

TEST_F(ConntrackTest, ANewGenerationCutsRevokedConnectionsAndKeepsAllowedOnes) {
  Program(kTcpUdp80, 1);
  const uint32_t first_epoch = program_->live_epoch();
  const auto syn = Tcp(kClient, kEphemeral, kServer, 80, kSyn);
  Expect(syn, XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Udp(kClient, 5353, kServer, 80), XDP_PASS, NF_CNT_PASS_NEW);
  TakeEvents();
  nf_ct_entry before{};
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &before));

  Program(kUdp80, 2);  // TCP/80 revoked, UDP/80 still allowed
  EXPECT_GT(program_->live_epoch(), first_epoch);
  // The server's reply is the next packet of the TCP connection: cut, entry gone.
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_DROP, NF_CNT_DROP, NF_DROP_REVOKED);
  nf_ct_entry e{};
  EXPECT_FALSE(Entry(kClient, kEphemeral, kServer, 80, 6, &e));
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kAck), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  // UDP: re-checked once, then a plain hit.
  Expect(Udp(kServer, 80, kClient, 5353), XDP_PASS, NF_CNT_PASS_RECHECKED);
  Expect(Udp(kClient, 5353, kServer, 80), XDP_PASS, NF_CNT_PASS_CT);
  ASSERT_TRUE(Entry(kClient, 5353, kServer, 80, 17, &e));
  EXPECT_EQ(e.epoch, program_->live_epoch());
  EXPECT_EQ(e.packets[0], 2u);
  EXPECT_EQ(e.packets[1], 1u);

  const auto events = TakeEvents();
  ASSERT_EQ(events.size(), 2u);
  const nf_event& cut = events[0];
  EXPECT_EQ(cut.kind, NF_EV_REVOKED);
  EXPECT_EQ(cut.reason, NF_DROP_REVOKED);
  EXPECT_EQ(cut.generation, 2u);
  EXPECT_EQ(cut.proto, 6);
  EXPECT_EQ(std::memcmp(cut.src, kServer.bytes.data(), 16), 0);  // the packet that was cut
  EXPECT_EQ(cut.sport, 80);
  EXPECT_EQ(cut.dport, kEphemeral);
  EXPECT_EQ(cut.verdict.ingress_outcome, static_cast<uint32_t>(NF_DENIED));  // server-in, as of generation 2
  // The connection as it was cut: its counters and flags go with the event, not with the entry.
  EXPECT_EQ(cut.tcp_flags, kSyn | kAck);
  EXPECT_EQ(cut.ct_packets[0], 1u);
  EXPECT_EQ(cut.ct_packets[1], 0u);
  EXPECT_EQ(cut.ct_bytes[0], syn.size());
  EXPECT_EQ(cut.ct_bytes[1], 0u);
  EXPECT_EQ(cut.ct_tcp_flags[0], kSyn);
  EXPECT_EQ(cut.ct_flags, before.flags);
  EXPECT_EQ(cut.ct_epoch, first_epoch);
  EXPECT_EQ(cut.ct_created_ns, before.created_ns);
  EXPECT_EQ(events[1].kind, NF_EV_DROP);
  EXPECT_EQ(events[1].ct_packets[0], 0u);  // a plain drop carries no connection
  EXPECT_EQ(events[1].reason, NF_DROP_POLICY);
}

TEST_F(ConntrackTest, IcmpEchoIsTrackedByIdAndErrorsFollowTheirConnection) {
  Program("", 1);  // the server takes everything from the client, ICMP included
  const auto request = PacketBuilder().Ipv4(kClient, kServer).IcmpMessage(8, 99).Build();
  const auto reply = PacketBuilder().Ipv4(kServer, kClient).IcmpMessage(0, 99).Build();
  const auto other_reply = PacketBuilder().Ipv4(kServer, kClient).IcmpMessage(0, 100).Build();
  Expect(request, XDP_PASS, NF_CNT_PASS_NEW);
  Expect(reply, XDP_PASS, NF_CNT_PASS_CT);
  Expect(other_reply, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);  // no request with that id
  // Events carry the message type and code (the Community ID of an ICMP flow needs them).
  const auto icmp_events = TakeEvents();
  ASSERT_EQ(icmp_events.size(), 2u);
  EXPECT_EQ(icmp_events[0].kind, NF_EV_NEW_FLOW);
  EXPECT_EQ(icmp_events[0].icmp_type, 8);
  EXPECT_EQ(icmp_events[0].icmp_code, 0);
  EXPECT_EQ(icmp_events[0].sport, 99);  // the echo id, as both conntrack ports
  EXPECT_EQ(icmp_events[0].dport, 99);
  EXPECT_EQ(icmp_events[1].kind, NF_EV_DROP);
  EXPECT_EQ(icmp_events[1].icmp_type, 0);

  // An error from the server about the client's TCP packet follows the TCP connection.
  Expect(Tcp(kClient, kEphemeral, kServer, 443, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  PacketBuilder quoted_builder;
  auto quoted = quoted_builder.Ipv4(kClient, kServer).Tcp(443, kEphemeral).Build();
  quoted = std::vector<uint8_t>(quoted.begin() + static_cast<long>(quoted_builder.l3_offset()),
                                quoted.begin() + static_cast<long>(quoted_builder.l4_offset() + 8));
  Expect(PacketBuilder().Ipv4(kServer, kClient).IcmpMessage(3, 0, quoted).Build(), XDP_PASS, NF_CNT_PASS_RELATED);
  // About a connection that does not exist: an ICMP packet like any other (denied here).
  auto unknown = quoted;
  unknown[20 + 1] ^= 1;  // the quoted source port
  PacketBuilder error_builder;
  auto error = error_builder.Ipv4(kServer, kClient).IcmpMessage(3, 0, unknown).Build();
  error[error_builder.l4_offset() + 1] = 1;  // code 1: host unreachable
  Expect(error, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  const auto error_events = TakeEvents();
  ASSERT_EQ(error_events.size(), 2u);  // the TCP connection, then the dropped error
  EXPECT_EQ(error_events[1].icmp_type, 3);
  EXPECT_EQ(error_events[1].icmp_code, 1);

  // The same error from an address that is not the quoted packet's destination (a forged or
  // third-party outer header), or to one that is not its source: an ICMP packet like any
  // other (the client takes no ingress).
  const IpAddr third = *IpAddr::Parse("10.0.0.9");
  Expect(PacketBuilder().Ipv4(third, kClient).IcmpMessage(3, 0, quoted).Build(), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  Expect(PacketBuilder().Ipv4(kServer, third).IcmpMessage(3, 0, quoted).Build(), XDP_PASS, NF_CNT_PASS_NEW);
}

TEST_F(ConntrackTest, ClosedTcpConnectionsAreReclassifiedWhenReopened) {
  Program(kTcpUdp80, 1);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kFin | kAck), XDP_PASS, NF_CNT_PASS_CT);
  nf_ct_entry e{};
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &e));
  EXPECT_EQ(e.flags & NF_CT_CLOSED, 0u);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kFin | kAck), XDP_PASS, NF_CNT_PASS_CT);
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &e));
  EXPECT_EQ(e.flags & NF_CT_CLOSED, NF_CT_CLOSED);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kAck), XDP_PASS, NF_CNT_PASS_CT);   // the last ACK
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);  // reopened: classified
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &e));
  EXPECT_EQ(e.flags & NF_CT_CLOSED, 0u);
  EXPECT_EQ(e.packets[0], 1u);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kRst), XDP_PASS, NF_CNT_PASS_CT);
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &e));
  EXPECT_EQ(e.flags & NF_CT_CLOSED, NF_CT_CLOSED);
}

TEST_F(ConntrackTest, EventsDescribeNewFlowsAndDropsAndNotHits) {
  Program(kTcpUdp80, 7);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Udp(kClient, 1234, kServer, 81), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  auto bad = PacketBuilder().Ipv4(kClient, kServer).Tcp(80).Build();
  bad[14] = 0x44;  // IHL 4
  Expect(bad, XDP_DROP, NF_CNT_DROP, NF_DROP_IP4_IHL);
  const auto events = TakeEvents();
  ASSERT_EQ(events.size(), 3u);
  const nf_event& n = events[0];
  EXPECT_EQ(n.kind, NF_EV_NEW_FLOW);
  EXPECT_EQ(std::memcmp(n.src, kClient.bytes.data(), 16), 0);
  EXPECT_EQ(std::memcmp(n.dst, kServer.bytes.data(), 16), 0);
  EXPECT_EQ(n.sport, kEphemeral);
  EXPECT_EQ(n.dport, 80);
  EXPECT_EQ(n.proto, 6);
  EXPECT_EQ(n.parsed, 1);
  EXPECT_EQ(n.generation, 7u);
  EXPECT_EQ(n.verdict.egress_outcome, static_cast<uint32_t>(NF_NOT_ISOLATED));
  EXPECT_EQ(n.verdict.ingress_outcome, static_cast<uint32_t>(NF_ALLOWED));
  EXPECT_EQ(n.verdict.ingress_rule, 0u);
  EXPECT_GT(n.ts_ns, 0u);
  EXPECT_EQ(n.bytes, Tcp(kClient, kEphemeral, kServer, 80, kSyn).size());
  EXPECT_EQ(n.hook, NF_HOOK_XDP);
  EXPECT_EQ(n.tcp_flags, kSyn);
  EXPECT_EQ(n.icmp_type, 0);
  // A new flow carries its conntrack entry as created: created_ns joins the two.
  nf_ct_entry created{};
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &created));
  EXPECT_EQ(n.ct_created_ns, created.created_ns);
  EXPECT_EQ(n.ct_epoch, program_->live_epoch());
  EXPECT_EQ(n.ct_packets[0], 1u);
  EXPECT_EQ(n.ct_bytes[0], n.bytes);
  EXPECT_EQ(n.ct_packets[1], 0u);
  const auto decision = clusters_.back()->Decide(kClient.str(), kServer.str(), 6, 80);
  EXPECT_EQ(n.verdict.ingress_table, decision.ingress.table);
  const nf_event& d = events[1];
  EXPECT_EQ(d.kind, NF_EV_DROP);
  EXPECT_EQ(d.reason, NF_DROP_POLICY);
  EXPECT_EQ(d.proto, 17);
  EXPECT_EQ(d.sport, 1234);
  EXPECT_EQ(d.dport, 81);
  EXPECT_EQ(d.verdict.ingress_outcome, static_cast<uint32_t>(NF_DENIED));
  EXPECT_EQ(d.ct_created_ns, 0u);  // drops carry no connection
  const nf_event& m = events[2];
  EXPECT_EQ(m.kind, NF_EV_DROP);
  EXPECT_EQ(m.reason, NF_DROP_IP4_IHL);
  EXPECT_EQ(m.parsed, 0);
  EXPECT_EQ(program_->ReadCounters()[NF_CNT_EVENTS_LOST], 0u);
}

TEST_F(ConntrackTest, AFullRingCountsEveryLostEvent) {
  xdp::LoadOptions o = StatefulOptions();
  o.ring_bytes = 4096;  // room for a few dozen events
  Load(o);
  Program(kTcpUdp80, 1);
  constexpr int kDrops = 500;
  for (int i = 0; i < kDrops; ++i) {
    ASSERT_EQ(harness_->Run(Udp(kClient, static_cast<uint16_t>(1000 + i), kServer, 81)).action, XDP_DROP);
  }
  const auto delivered = TakeEvents().size();
  const uint64_t lost = program_->ReadCounters()[NF_CNT_EVENTS_LOST];
  EXPECT_GT(delivered, 10u);
  EXPECT_LT(delivered, static_cast<size_t>(kDrops));
  EXPECT_EQ(delivered + lost, static_cast<uint64_t>(kDrops));
  // Once read, the ring has room again.
  ASSERT_EQ(harness_->Run(Udp(kClient, 999, kServer, 81)).action, XDP_DROP);
  EXPECT_EQ(TakeEvents().size(), 1u);
}

TEST_F(ConntrackTest, InterfacesBoundToAPodOrAnUplinkChangeWhatIsTrusted) {
  // The client may send nothing at all (egress), so only an uplink (where the sender is
  // never a local pod) lets a packet from its address through.
  Program(
      kTcpUdp80, 1,
      PolicyYaml("default", "client-out", "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n"));
  const auto from_client = Tcp(kClient, kEphemeral, kServer, 80, kSyn);
  const auto from_server = Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck);
  constexpr int kTestRunIfindex = 1;  // BPF_PROG_TEST_RUN receives on loopback
  Expect(from_client, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);

  ASSERT_TRUE(program_->BindUplink(kTestRunIfindex).ok());
  RunResult r = Expect(from_client, XDP_PASS, NF_CNT_PASS_NEW);
  EXPECT_EQ(r.decision.verdict.egress_outcome, static_cast<uint32_t>(NF_NOT_ISOLATED));  // not judged here
  EXPECT_EQ(r.decision.verdict.ingress_outcome, static_cast<uint32_t>(NF_ALLOWED));
  Expect(from_server, XDP_PASS, NF_CNT_PASS_CT);

  // The server's own veth: only the server's address may come from it.
  ASSERT_TRUE(program_->BindEndpoint(kTestRunIfindex, {kServer, *IpAddr::Parse("fd00::1")}).ok());
  Expect(from_server, XDP_PASS, NF_CNT_PASS_CT);
  Expect(from_client, XDP_DROP, NF_CNT_DROP, NF_DROP_SPOOFED);  // the client's address, spoofed
  EXPECT_EQ(program_->ReadDropReasons()[NF_DROP_SPOOFED], 1u);

  ASSERT_TRUE(program_->Unbind(kTestRunIfindex).ok());
  ASSERT_TRUE(program_->Unbind(kTestRunIfindex).ok());  // idempotent
  ASSERT_TRUE(program_->FlushConntrack().ok());
  Expect(from_client, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  EXPECT_FALSE(program_->BindEndpoint(kTestRunIfindex, {}).ok());
}

TEST_F(ConntrackTest, AddressesOfThePodCidrsThatNoLocalPodHoldsAreUnreachable) {
  // The server takes TCP/80 from anywhere (ipBlock), the client may send anywhere: only the
  // pod CIDR guard stops what goes to or comes from an address no pod holds.
  Program(kTcpUdp80, 1,
          PolicyYaml("default", "server-any",
                     "  podSelector: {matchLabels: {app: server}}\n  ingress:\n"
                     "  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n"
                     "    ports: [{protocol: TCP, port: 80}]\n"));
  const IpAddr nobody = *IpAddr::Parse("10.0.0.9"), gateway = *IpAddr::Parse("10.0.0.254"),
               outside = *IpAddr::Parse("192.168.7.7");
  uint16_t sport = 30000;  // a new connection every time: conntrack never answers
  auto probe = [&](const IpAddr& src, const IpAddr& dst) { return Tcp(src, ++sport, dst, 80, kSyn); };
  Expect(probe(nobody, kServer), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(probe(kClient, nobody), XDP_PASS, NF_CNT_PASS_NEW);

  ASSERT_TRUE(program_->SetPodCidrs({*IpPrefix::Parse("10.0.0.0/24")}, {gateway}).ok());
  Expect(probe(nobody, kServer), XDP_DROP, NF_CNT_DROP, NF_DROP_UNREGISTERED);
  Expect(probe(kClient, nobody), XDP_DROP, NF_CNT_DROP, NF_DROP_UNREGISTERED);
  Expect(probe(kClient, kServer), XDP_PASS, NF_CNT_PASS_NEW);  // both are local pods
  Expect(probe(kClient, gateway), XDP_PASS, NF_CNT_PASS_NEW);  // the node's own address there
  Expect(probe(gateway, kServer), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(probe(kClient, outside), XDP_PASS, NF_CNT_PASS_NEW);  // outside the CIDRs: world
  Expect(probe(outside, kServer), XDP_PASS, NF_CNT_PASS_NEW);
  EXPECT_EQ(program_->ReadDropReasons()[NF_DROP_UNREGISTERED], 2u);
  auto events = TakeEvents();
  size_t unregistered = 0;
  for (const nf_event& e : events) unregistered += e.kind == NF_EV_DROP && e.reason == NF_DROP_UNREGISTERED;
  EXPECT_EQ(unregistered, 2u);

  // Replaced as a whole: another set, then none.
  ASSERT_TRUE(program_->SetPodCidrs({*IpPrefix::Parse("fd00::/64")}, {}).ok());
  Expect(probe(nobody, kServer), XDP_PASS, NF_CNT_PASS_NEW);
  const auto v6 = PacketBuilder().Ipv6(*IpAddr::Parse("fd00::9"), *IpAddr::Parse("fd00::1")).Tcp(80, 1).Build();
  Expect(v6, XDP_DROP, NF_CNT_DROP, NF_DROP_UNREGISTERED);
  ASSERT_TRUE(program_->SetPodCidrs({}, {}).ok());
  Expect(probe(kClient, nobody), XDP_PASS, NF_CNT_PASS_NEW);
  EXPECT_EQ(CountKeys(program_->map_fd(xdp::Map::kPodCidrs), sizeof(nf_prefix_key)), 0u);
  std::vector<IpAddr> many;
  for (int i = 0; i < 65; ++i) many.push_back(*IpAddr::Parse("10.0.0." + std::to_string(i + 1)));
  const Status too_many = program_->SetPodCidrs({*IpPrefix::Parse("10.0.0.0/24")}, many);
  EXPECT_FALSE(too_many.ok());
  EXPECT_NE(too_many.message().find("at most 64"), std::string::npos) << too_many.message();
}

TEST_F(ConntrackTest, TcEgressJudgesWhatTheNodeSendsAndCountsEveryPacketOnce) {
  const IpAddr node = *IpAddr::Parse("10.0.0.250");  // no pod: the world identity, CIDR rules only
  Program(kTcpUdp80, 1,
          PolicyYaml("default", "server-from-node",
                     "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                     "  - from: [{ipBlock: {cidr: 10.0.0.250/32}}]\n    ports: [{protocol: TCP, port: 22}]\n"));
  auto tc = [&](const std::vector<uint8_t>& p, int action, uint32_t path) {
    RunResult r = harness_->RunTc(p);
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(static_cast<int>(r.action), action);
    EXPECT_EQ(r.decision.path, path);
  };
  // The node to pods: judged by the pods' ingress policy.
  tc(Tcp(node, 5000, kServer, 80, kSyn), TC_ACT_SHOT, NF_CNT_DROP);
  tc(Tcp(node, 5000, kClient, 80, kSyn), TC_ACT_SHOT, NF_CNT_DROP);
  tc(Tcp(node, 5000, kServer, 22, kSyn), TC_ACT_OK, NF_CNT_PASS_NEW);
  Expect(Tcp(kServer, 22, node, 5000, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);  // the reply, at the pod's veth
  tc(Tcp(node, 5000, kServer, 22, kAck), TC_ACT_OK, NF_CNT_PASS_CT);
  nf_ct_entry e{};
  ASSERT_TRUE(Entry(node, 5000, kServer, 22, 6, &e));
  EXPECT_EQ(e.packets[0], 2u);  // both counted at TC
  EXPECT_EQ(e.packets[1], 1u);  // counted at XDP

  // Pod to pod: XDP at the sender's veth decides and counts; TC at the receiver's passes it
  // on the entry without counting it again, in both directions.
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  tc(Tcp(kClient, kEphemeral, kServer, 80, kSyn), TC_ACT_OK, NF_CNT_PASS_CT);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
  tc(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), TC_ACT_OK, NF_CNT_PASS_CT);
  ASSERT_TRUE(Entry(kClient, kEphemeral, kServer, 80, 6, &e));
  EXPECT_EQ(e.packets[0], 1u);
  EXPECT_EQ(e.packets[1], 1u);
  const auto events = TakeEvents();
  ASSERT_EQ(events.size(), 4u);  // two drops and a new flow at TC, a new flow at XDP
  EXPECT_EQ(events[0].hook, NF_HOOK_TC);
  EXPECT_EQ(events[2].hook, NF_HOOK_TC);
  EXPECT_EQ(events[3].hook, NF_HOOK_XDP);
}

TEST_F(ConntrackTest, TrafficIsCountedOnceByVerdictAndDirection) {
  Program(kTcpUdp80, 1);
  constexpr int kTestRunIfindex = 1;  // BPF_PROG_TEST_RUN receives on loopback
  const auto syn = Tcp(kClient, kEphemeral, kServer, 80, kSyn);
  const auto synack = Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck);
  const auto denied = Udp(kClient, 1234, kServer, 81);
  // Unbound interface: everything counts as ingress.
  Expect(syn, XDP_PASS, NF_CNT_PASS_NEW);
  Expect(synack, XDP_PASS, NF_CNT_PASS_CT);
  Expect(denied, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  // The same packets at TC after XDP: the connection's packets are counted once (at XDP).
  ASSERT_EQ(harness_->RunTc(synack).action, static_cast<uint32_t>(TC_ACT_OK));
  // The client's veth (a pod's): what it sends is egress.
  ASSERT_TRUE(program_->BindEndpoint(kTestRunIfindex, {kClient}).ok());
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(denied, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  Expect(denied, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  const xdp::Traffic t = program_->ReadTraffic();
  const uint64_t ack_bytes = Tcp(kClient, kEphemeral, kServer, 80, kAck).size();
  EXPECT_EQ(t[NF_TRAFFIC_ALLOWED_INGRESS].packets, 2u);
  EXPECT_EQ(t[NF_TRAFFIC_ALLOWED_INGRESS].bytes, syn.size() + synack.size());
  EXPECT_EQ(t[NF_TRAFFIC_DENIED_INGRESS].packets, 1u);
  EXPECT_EQ(t[NF_TRAFFIC_DENIED_INGRESS].bytes, denied.size());
  EXPECT_EQ(t[NF_TRAFFIC_ALLOWED_EGRESS].packets, 1u);
  EXPECT_EQ(t[NF_TRAFFIC_ALLOWED_EGRESS].bytes, ack_bytes);
  EXPECT_EQ(t[NF_TRAFFIC_DENIED_EGRESS].packets, 2u);
  EXPECT_EQ(t[NF_TRAFFIC_DENIED_EGRESS].bytes, 2 * denied.size());
  ASSERT_TRUE(program_->Unbind(kTestRunIfindex).ok());
}

// A pin directory on bpffs, removed with everything in it.
TEST_F(ConntrackTest, PinnedMapsSurviveTheProgramAndAreReadopted) {
  PinDir pins("conntrack");
  xdp::LoadOptions o = StatefulOptions();
  o.pin_dir = pins.path();
  Load(o);
  Program(kTcpUdp80, 5);
  Expect(Tcp(kClient, kEphemeral, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  const uint32_t epoch = program_->live_epoch();
  struct stat st {};
  EXPECT_EQ(stat((pins.path() + "/conntrack").c_str(), &st), 0);
  EXPECT_EQ(stat((pins.path() + "/words_slots").c_str(), &st), 0);

  Load(o);  // a new process would do the same: nothing programmed by it yet
  EXPECT_EQ(program_->live_generation(), 5u);
  EXPECT_EQ(program_->live_epoch(), epoch);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
  Expect(Tcp(kClient, kEphemeral, kServer, 81, kSyn), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  EXPECT_EQ(program_->ReadCounters()[NF_CNT_PASS_NEW], 1u);  // counters carried over too
  Program(kUdp80, 6);
  EXPECT_EQ(program_->live_epoch(), epoch + 1);
  Expect(Tcp(kServer, 80, kClient, kEphemeral, kAck), XDP_DROP, NF_CNT_DROP, NF_DROP_REVOKED);

  // Maps of another shape are not silently reused.
  reader_.reset();
  harness_.reset();
  program_.reset();
  o.conntrack_entries = 8192;
  auto other = xdp::XdpProgram::Load(o);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find(pins.path()), std::string::npos) << other.status().message();
}

}  // namespace
}  // namespace netfence::xdptest
