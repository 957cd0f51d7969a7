// SPDX-License-Identifier: Apache-2.0
// The connection tables at their limits: full (the LRU evicts and evicted connections fail
// closed), one pod's flood against the per-pod quota, a full interfaces map, and a full
// fragments map.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/dataplane/xdp/conntrack_fixture.h"

namespace netfence::xdptest {
namespace {

// Fault: a full connection table. The LRU keeps the most recent connections; an evicted
// one fails closed (its reply, which only conntrack admits, is dropped by policy, never passed
// and never an internal error), and the client's retransmitted SYN recovers it.
TEST_F(ConntrackTest, AFullTableEvictsTheOldestAndFailsClosedForThem) {
  xdp::LoadOptions o = StatefulOptions();
  o.conntrack_entries = 64;
  Load(o);
  Program(kTcpUdp80, 1);
  constexpr int kFlows = 1000;
  for (int i = 0; i < kFlows; ++i) {
    Expect(Tcp(kClient, static_cast<uint16_t>(20000 + i), kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  }
  EXPECT_EQ(program_->ReadCounters()[NF_CNT_CT_CREATED], static_cast<uint64_t>(kFlows));
  int held = 0;
  for (int i = 0; i < kFlows; ++i) {
    nf_ct_entry e{};
    const auto sport = static_cast<uint16_t>(20000 + i);
    const bool present = Entry(kClient, sport, kServer, 80, 6, &e);
    held += present;
    const auto synack = Tcp(kServer, 80, kClient, sport, kSyn | kAck);
    if (present) {
      Expect(synack, XDP_PASS, NF_CNT_PASS_CT);
    } else if (i % 50 == 0) {  // a sample of the evicted ones
      Expect(synack, XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
    }
  }
  EXPECT_GT(held, 0);
  EXPECT_LE(held, 64);
  nf_ct_entry last{};
  EXPECT_TRUE(Entry(kClient, static_cast<uint16_t>(20000 + kFlows - 1), kServer, 80, 6, &last))
      << "the newest connection";
  EXPECT_EQ(harness_->Drops()[NF_DROP_INTERNAL], 0u);
  // The first connection's SYN, retransmitted, is a new flow again and its reply passes.
  Expect(Tcp(kClient, 20000, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
  Expect(Tcp(kServer, 80, kClient, 20000, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
}

// Conntrack fairness: with a quota of connections per pod interface, one pod's flood of new
// flows stops at its quota (each further new flow dropped as NF_DROP_CT_QUOTA), so the
// connections already in the shared LRU table (made before the pod's port was bound: nobody's
// quota) are not evicted and their replies keep passing. Without the quota the same flood
// evicts them. The program counts what it creates; the recount from the tables (done every
// ct_recount_ms by the loader) follows evictions and flushes, and gives the pod room again.
TEST_F(ConntrackTest, OnePodsFloodStopsAtItsQuotaAndEvictsNoOtherConnection) {
  constexpr int kOthers = 40, kFlood = 600, kQuota = 100;
  constexpr int kTestRunIfindex = 1;  // BPF_PROG_TEST_RUN receives on loopback
  for (const bool quota : {false, true}) {
    SCOPED_TRACE(quota ? "with the quota" : "without a quota");
    xdp::LoadOptions o = StatefulOptions();
    o.conntrack_entries = 256;
    o.ct_pod_quota = quota ? kQuota : 0;
    o.ct_recount_ms = 3600 * 1000;  // recounted by the test only
    Load(o);
    Program(kTcpUdp80, 1);
    for (int i = 0; i < kOthers; ++i) {
      Expect(Tcp(kClient, static_cast<uint16_t>(10000 + i), kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
    }
    ASSERT_TRUE(program_->BindEndpoint(kTestRunIfindex, {kClient}).ok());
    int passed = 0, refused = 0;
    for (int i = 0; i < kFlood; ++i) {
      const RunResult r = harness_->Run(Tcp(kClient, static_cast<uint16_t>(20000 + i), kServer, 80, kSyn));
      passed += r.action == XDP_PASS;
      refused += r.action == XDP_DROP && r.decision.drop_reason == NF_DROP_CT_QUOTA;
    }
    int others_held = 0;
    for (int i = 0; i < kOthers; ++i) {
      nf_ct_entry e{};
      others_held += Entry(kClient, static_cast<uint16_t>(10000 + i), kServer, 80, 6, &e);
    }
    if (quota) {
      EXPECT_EQ(passed, kQuota);
      EXPECT_EQ(refused, kFlood - kQuota);
      EXPECT_EQ(harness_->Drops()[NF_DROP_CT_QUOTA], static_cast<uint64_t>(kFlood - kQuota));
      EXPECT_EQ(others_held, kOthers) << "the flood evicted connections it had no quota for";
      // Their replies (the server's, so not from the client's port) pass on their entries.
      ASSERT_TRUE(program_->Unbind(kTestRunIfindex).ok());
      Expect(Tcp(kServer, 80, kClient, 10000, kSyn | kAck), XDP_PASS, NF_CNT_PASS_CT);
      ASSERT_TRUE(program_->BindEndpoint(kTestRunIfindex, {kClient}).ok());
      // The recount agrees with what the program counted; after a flush the pod has room.
      ASSERT_TRUE(program_->RecountPodConnections().ok());
      Expect(Tcp(kClient, 30000, kServer, 80, kSyn), XDP_DROP, NF_CNT_DROP, NF_DROP_CT_QUOTA);
      ASSERT_TRUE(program_->FlushConntrack().ok());
      ASSERT_TRUE(program_->RecountPodConnections().ok());
      Expect(Tcp(kClient, 30000, kServer, 80, kSyn), XDP_PASS, NF_CNT_PASS_NEW);
    } else {
      EXPECT_EQ(passed, kFlood);
      EXPECT_LT(others_held, kOthers) << "without a quota the flood should have evicted some (LRU of 256)";
    }
    ASSERT_TRUE(program_->Unbind(kTestRunIfindex).ok());
  }
}

// Fault: a full interfaces map (ifindexes from NF_IFACE_LOW go to a hash of fixed size). The
// interface past its capacity is refused with the map, the interface and the limit named;
// the ones bound before stay bound.
TEST_F(ConntrackTest, AFullInterfacesMapIsRefusedByNameAndKeepsTheBoundOnes) {
  const IpAddr pod = *IpAddr::Parse("10.9.0.1");
  Status last = Status::Ok();
  int bound = 0;
  for (uint32_t ifindex = NF_IFACE_LOW; ifindex < NF_IFACE_LOW + 5000 && last.ok(); ++ifindex) {
    last = program_->BindEndpoint(static_cast<int>(ifindex), {pod});
    bound += last.ok();
  }
  ASSERT_FALSE(last.ok()) << "5,000 interfaces bound: the map has no limit?";
  EXPECT_EQ(bound, 4096);
  EXPECT_NE(last.message().find("XDP map interfaces"), std::string::npos) << last.message();
  EXPECT_NE(last.message().find("at most 4096"), std::string::npos) << last.message();
  nf_iface first{};
  const uint32_t key = NF_IFACE_LOW;
  ASSERT_EQ(bpf_map_lookup_elem(program_->map_fd(xdp::Map::kInterfaces), &key, &first), 0);
  EXPECT_EQ(first.kind, NF_IFACE_ENDPOINT);
  for (uint32_t ifindex = NF_IFACE_LOW; ifindex < NF_IFACE_LOW + 4096; ++ifindex) {
    ASSERT_TRUE(program_->Unbind(static_cast<int>(ifindex)).ok());
  }
  EXPECT_TRUE(program_->BindEndpoint(static_cast<int>(NF_IFACE_LOW + 4096), {pod}).ok()) << "room again";
}

// Fault: a full fragments map. First fragments of allowed datagrams are remembered in an LRU
// of fragment_entries; a later fragment passes only while its datagram's entry is there, of the
// live programming and young enough. Flooded with more datagrams than it holds, the map keeps
// the most recent ones; the later fragments of evicted datagrams fail closed (dropped, counted
// as ip4-fragment), never an internal error; a later fragment of a denied datagram never
// passes; and a new programming refuses every remembered datagram.
TEST_F(ConntrackTest, AFullFragmentsMapFailsClosedForTheEvictedDatagrams) {
  xdp::LoadOptions o = StatefulOptions();
  o.fragment_entries = 64;
  Load(o);
  Program(kTcpUdp80, 1);
  auto first = [](uint16_t id, uint16_t port) {
    return PacketBuilder().Ipv4(kClient, kServer).Ipv4Id(id).Ipv4Fragment(0, true).Udp(port, 5000).Payload(40).Build();
  };
  auto later = [](uint16_t id) {
    // The same protocol (part of the datagram's key); its UDP header bytes are mere payload here.
    return PacketBuilder().Ipv4(kClient, kServer).Ipv4Id(id).Ipv4Fragment(100, false).Udp(80, 5000).Payload(40).Build();
  };
  // The first fragments pass (the first as a new flow, the others on its connection entry).
  constexpr int kDatagrams = 1000;
  for (int id = 1; id <= kDatagrams; ++id) {
    const RunResult r = harness_->Run(first(static_cast<uint16_t>(id), 80));
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.action, static_cast<uint32_t>(XDP_PASS)) << "datagram " << id;
  }
  int passed = 0, dropped = 0;
  for (int id = 1; id <= kDatagrams; ++id) {
    const RunResult r = harness_->Run(later(static_cast<uint16_t>(id)));
    ASSERT_TRUE(r.ok) << r.error;
    if (r.action == XDP_PASS) {
      EXPECT_EQ(r.decision.path, static_cast<uint32_t>(NF_CNT_PASS_FRAGMENT));
      ++passed;
    } else {
      EXPECT_EQ(r.decision.drop_reason, static_cast<uint32_t>(NF_DROP_IP4_FRAGMENT)) << "datagram " << id;
      ++dropped;
    }
  }
  EXPECT_GT(passed, 0);
  EXPECT_LE(passed, 64) << "more datagrams followed than the map holds";
  EXPECT_EQ(passed + dropped, kDatagrams);
  EXPECT_EQ(harness_->Drops()[NF_DROP_IP4_FRAGMENT], static_cast<uint64_t>(dropped));
  EXPECT_EQ(harness_->Drops()[NF_DROP_INTERNAL], 0u);
  // A datagram just seen is remembered: each of its later fragments passes.
  Expect(first(5000, 80), XDP_PASS, NF_CNT_PASS_CT);
  Expect(later(5000), XDP_PASS, NF_CNT_PASS_FRAGMENT);
  Expect(later(5000), XDP_PASS, NF_CNT_PASS_FRAGMENT);
  // A denied datagram's first fragment is dropped by policy and leaves nothing to follow.
  Expect(first(6000, 81), XDP_DROP, NF_CNT_DROP, NF_DROP_POLICY);
  Expect(later(6000), XDP_DROP, NF_CNT_DROP, NF_DROP_IP4_FRAGMENT);
  // A new programming: remembered datagrams belong to the old one and are refused.
  Program(kTcpUdp80, 2);
  Expect(later(5000), XDP_DROP, NF_CNT_DROP, NF_DROP_IP4_FRAGMENT);
}

}  // namespace
}  // namespace netfence::xdptest
