// SPDX-License-Identifier: Apache-2.0
// Generations, events and conntrack housekeeping of the DPDK pipeline: tables swapped under
// traffic (a lane deciding bursts on its own thread while another thread programs) never judge
// a packet by a mix of two generations, and every burst is decided by one; a full event ring
// counts exactly what it could not hold; a flush forgets every connection.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <rte_mbuf.h>

#include <atomic>
#include <map>
#include <thread>

#include "tests/dataplane/dpdk/dpdk_harness.h"
#include "tests/dataplane/xdp/packet_builder.h"
#include "tests/testing/policy_fixture.h"

namespace netfence::dpdktest {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;
using xdptest::PacketBuilder;

const IpAddr kClient = *IpAddr::Parse("10.0.0.2");
const IpAddr kServer = *IpAddr::Parse("10.0.0.1");

// The client's egress and the server's ingress both admit client -> server TCP/80; with
// `decoy` another rule comes first in each, so the rule bits (and tables) differ.
std::string Yaml(bool decoy) {
  const std::string d_in =
      decoy ? "  - from: [{podSelector: {matchLabels: {app: admin}}}]\n    ports: [{port: 9}]\n" : "";
  const std::string d_out =
      decoy ? "  - to: [{podSelector: {matchLabels: {app: admin}}}]\n    ports: [{port: 9}]\n" : "";
  return PodYaml("default", "client", "app: client", kClient.str()) +
         PodYaml("default", "server", "app: server", kServer.str()) +
         PodYaml("default", "admin", "app: admin", "10.0.0.3") +
         PolicyYaml("default", "server-in",
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n" + d_in +
                        "  - from: [{podSelector: {matchLabels: {app: client}}}]\n    ports: [{port: 80}]\n") +
         PolicyYaml("default", "client-out",
                    "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n  egress:\n" + d_out +
                        "  - to: [{podSelector: {matchLabels: {app: server}}}]\n    ports: [{port: 80}]\n");
}

nf_verdict VerdictOf(const testing::Cluster& c) {
  const auto d = c.classifier().Classify({kClient, kServer, 6, 80});
  nf_verdict v{};
  v.egress_outcome = static_cast<uint32_t>(d.egress.outcome);
  v.egress_table = d.egress.table;
  v.egress_rule = d.egress.rule_bit;
  v.ingress_outcome = static_cast<uint32_t>(d.ingress.outcome);
  v.ingress_table = d.ingress.table;
  v.ingress_rule = d.ingress.rule_bit;
  v.audit_egress_outcome = static_cast<uint32_t>(d.audit_egress.outcome);
  v.audit_egress_rule = d.audit_egress.rule_bit;
  v.audit_ingress_outcome = static_cast<uint32_t>(d.audit_ingress.outcome);
  v.audit_ingress_rule = d.audit_ingress.rule_bit;
  return v;
}
bool Same(const nf_verdict& a, const nf_verdict& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

TEST(DpdkGenerations, SwapsUnderTrafficNeverMixTwoGenerations) {
  NETFENCE_REQUIRE_DPDK();
  dpdk::DatapathOptions o = StatelessOptions();
  o.events = true;
  o.event_ring = 1 << 16;
  auto h = Harness::Create(o);
  ASSERT_TRUE(h.ok()) << h.status().message();
  dpdk::Datapath& dp = (*h)->dp();
  const testing::Cluster plain(Yaml(false)), decoy(Yaml(true));
  const nf_verdict want[2] = {VerdictOf(plain), VerdictOf(decoy)};
  ASSERT_FALSE(Same(want[0], want[1])) << "the two generations must decide the packet differently";
  ASSERT_EQ(want[0].egress_outcome, static_cast<uint32_t>(NF_ALLOWED));
  ASSERT_EQ(want[1].ingress_outcome, static_cast<uint32_t>(NF_ALLOWED));
  v1::RuleTables tables[2] = {plain.tables(), decoy.tables()};
  tables[0].set_generation(1);
  ASSERT_TRUE(dp.Program(tables[0]).ok());

  const std::vector<uint8_t> frame = PacketBuilder().Ipv4(kClient, kServer).Tcp(80).Build();
  std::atomic<bool> done{false};
  std::map<uint64_t, int> bursts_by_generation;
  int mixed = 0, wrong = 0, bursts = 0;
  std::thread traffic([&] {
    nf_event events[64];
    while (!done) {
      rte_mbuf* pkts[32];
      for (auto& m : pkts) m = (*h)->Mbuf(frame);
      uint8_t actions[32];
      dp.lane(0).Process(0, pkts, 32, actions);
      const uint32_t n = dp.ReadEvents(events, 64);
      ++bursts;
      if (n != 32) {
        ++wrong;
        continue;
      }
      const uint64_t g = events[0].generation;
      ++bursts_by_generation[g];
      for (uint32_t i = 0; i < n; ++i) {
        mixed += events[i].generation != g;  // a burst is one snapshot
        // Generation g's tables: odd generations are `plain`, even ones `decoy`.
        wrong += !Same(events[i].verdict, want[g % 2 == 1 ? 0 : 1]) || actions[i] != XDP_PASS;
      }
    }
  });
  for (uint64_t g = 2; g <= 401; ++g) {
    tables[g % 2 == 1 ? 0 : 1].set_generation(g);
    ASSERT_TRUE(dp.Program(tables[g % 2 == 1 ? 0 : 1]).ok());
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  done = true;
  traffic.join();
  std::cout << "[dpdk generations] " << bursts << " bursts of 32 under " << bursts_by_generation.size()
            << " of 401 generations, " << mixed << " mixed, " << wrong << " wrong\n";
  EXPECT_EQ(mixed, 0);
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(bursts_by_generation.size(), 20u);  // traffic really ran across swaps
  EXPECT_EQ(dp.live_generation(), 401u);
  EXPECT_EQ(dp.live_epoch(), 401u);
}

TEST(DpdkEvents, AFullRingCountsExactlyWhatItLost) {
  NETFENCE_REQUIRE_DPDK();
  dpdk::DatapathOptions o = StatelessOptions();
  o.events = true;
  o.event_ring = 64;
  auto h = Harness::Create(o);
  ASSERT_TRUE(h.ok()) << h.status().message();
  const testing::Cluster c(Yaml(false));
  ASSERT_TRUE((*h)->dp().Program(c.tables()).ok());
  std::vector<std::vector<uint8_t>> denied(200, PacketBuilder().Ipv4(kClient, kServer).Tcp(81).Build());
  for (const DpdkRun& r : (*h)->Run(denied)) EXPECT_EQ(r.action, XDP_DROP);
  EXPECT_EQ((*h)->dp().ReadCounters()[NF_CNT_EVENTS_LOST], 136u);
  std::vector<nf_event> ev = (*h)->Events();
  ASSERT_EQ(ev.size(), 64u);
  for (const nf_event& e : ev) {
    EXPECT_EQ(e.kind, NF_EV_DROP);
    EXPECT_EQ(e.reason, NF_DROP_POLICY);
    EXPECT_EQ(e.dport, 81);
  }
  // Room again: nothing more is lost.
  (void)(*h)->Run(std::vector<std::vector<uint8_t>>(10, denied[0]));
  EXPECT_EQ((*h)->Events().size(), 10u);
  EXPECT_EQ((*h)->dp().ReadCounters()[NF_CNT_EVENTS_LOST], 136u);
  EXPECT_EQ((*h)->dp().ReadDropReasons()[NF_DROP_POLICY], 210u);
}

TEST(DpdkConntrack, FlushForgetsEveryConnectionAndHousekeepingKeepsLiveOnes) {
  NETFENCE_REQUIRE_DPDK();
  auto h = Harness::Create(StatefulOptions());
  ASSERT_TRUE(h.ok()) << h.status().message();
  const testing::Cluster c(Yaml(false));
  ASSERT_TRUE((*h)->dp().Program(c.tables()).ok());
  std::vector<std::vector<uint8_t>> syns;
  for (uint16_t port = 1000; port < 1100; ++port) {
    syns.push_back(PacketBuilder().Ipv4(kClient, kServer).Tcp(80, port).Build());
  }
  for (const DpdkRun& r : (*h)->Run(syns)) EXPECT_EQ(r.decision.path, static_cast<uint32_t>(NF_CNT_PASS_NEW));
  std::vector<fastpath::CtEntry> entries;
  ASSERT_TRUE((*h)->dp().ReadConntrack(&entries).ok());
  EXPECT_EQ(entries.size(), 100u);
  (*h)->dp().Housekeeping();  // nothing has expired
  ASSERT_TRUE((*h)->dp().ReadConntrack(&entries).ok());
  EXPECT_EQ(entries.size(), 100u);
  for (const DpdkRun& r : (*h)->Run(syns)) EXPECT_EQ(r.decision.path, static_cast<uint32_t>(NF_CNT_PASS_CT));
  ASSERT_TRUE((*h)->dp().FlushConntrack().ok());
  ASSERT_TRUE((*h)->dp().ReadConntrack(&entries).ok());
  EXPECT_EQ(entries.size(), 0u);
  // The server's replies are new flows now, and the server has no egress policy: allowed, new
  // (a port outside the SYNs' range, so that their connections stay apart).
  const auto reply = PacketBuilder().Ipv4(kServer, kClient).TcpFlags(0x12).Tcp(999, 80).Build();
  EXPECT_EQ((*h)->RunOne(reply).decision.path, static_cast<uint32_t>(NF_CNT_PASS_NEW));
  // Positions freed by the flush are reused: the table fills again to the same size.
  for (const DpdkRun& r : (*h)->Run(syns)) EXPECT_EQ(r.decision.path, static_cast<uint32_t>(NF_CNT_PASS_NEW));
  ASSERT_TRUE((*h)->dp().ReadConntrack(&entries).ok());
  EXPECT_EQ(entries.size(), 101u);
}

}  // namespace
}  // namespace netfence::dpdktest
