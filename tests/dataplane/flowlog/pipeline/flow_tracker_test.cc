// SPDX-License-Identifier: Apache-2.0
// FlowTracker: exactly the start, update and end records of each connection, from events and
// conntrack scans built by hand (the pipeline test drives the real datapath).
#include "dataplane/flowlog/pipeline/flow_tracker.h"

#include <gtest/gtest.h>

#include "dataplane/fastpath/conntrack_key.h"
#include "dataplane/flowlog/community_id.h"
#include "dataplane/flowlog/pipeline/attribution.h"
#include "tests/dataplane/flowlog/pipeline/generation_fixture.h"
#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::PodYaml;
using testing::PolicyYaml;

constexpr uint64_t kS = 1'000'000'000;
constexpr uint64_t kMono0 = 1000 * kS;                                    // the datapath's clock
constexpr int64_t kOffset = testing::kT0 - static_cast<int64_t>(kMono0);  // wall = mono + offset
constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPsh = 0x08, kFin = 0x01;
const char* kClient = "10.0.0.2";
const char* kServer = "10.0.0.1";

std::string Yaml(const std::string& policy_name) {
  return PodYaml("default", "client", "app: client", kClient) + PodYaml("default", "server", "app: server", kServer) +
         PolicyYaml("default", policy_name,
                    "  podSelector: {matchLabels: {app: server}}\n  policyTypes: [Ingress]\n  ingress:\n"
                    "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
                    "    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 53}]\n");
}

class FlowTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::AddGeneration(&history_, g1_, 1, 0);
    tracker_.set_clock(kOffset);
  }

  nf_event NewFlow(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t proto, uint64_t ts,
                   const testing::Generation& g, uint32_t epoch) {
    nf_event e = testing::Event(NF_EV_NEW_FLOW, src, sport, dst, dport, proto, g.tables.generation(), ts);
    e.verdict = testing::VerdictOf(g.cluster->Decide(src, dst, proto, dport));
    bool sender_b = false;
    fastpath::ConntrackKey(*IpAddr::Parse(src), sport, *IpAddr::Parse(dst), dport, proto, &sender_b);
    e.ct_created_ns = ts - ts % (4 * 1'000'000);  // coarse
    e.ct_epoch = epoch;
    e.ct_flags = sender_b ? NF_CT_INITIATOR_B : 0;
    e.ct_packets[0] = 1;
    e.ct_bytes[0] = e.bytes;
    e.tcp_flags = proto == 6 ? kSyn : 0;
    e.ct_tcp_flags[0] = e.tcp_flags;
    return e;
  }
  static CtEntry Entry(const nf_event& e) {
    CtEntry c;
    IpAddr s, d;
    std::memcpy(s.bytes.data(), e.src, 16);
    std::memcpy(d.bytes.data(), e.dst, 16);
    c.key = fastpath::ConntrackKey(s, e.sport, d, e.dport, e.proto);
    c.entry = testing::EntryOf(e, c.key);
    return c;
  }
  void Scan(const std::vector<CtEntry>& entries, uint64_t mono, bool tick) {
    tracker_.OnScan(
        {.entries = &entries, .read_mono = mono, .now_mono = mono, .now_wall = Wall(mono), .update_tick = tick});
  }
  static int64_t Wall(uint64_t mono) { return static_cast<int64_t>(mono) + kOffset; }
  std::vector<FlowRecord> Take() { return std::exchange(out_, {}); }

  // What every record of client:40000 -> server:80 (TCP) says at generation 1.
  FlowRecord TcpBase(const nf_event& e) const {
    FlowRecord r = testing::ClientServerTcp(g1_, kClient, 40000, kServer, 80);
    r.verdict = Verdict::kAllowed;
    r.direction = Direction::kIngress;
    r.reason = reason::kPolicy;
    r.generation = 1;
    r.policies = {{"default", "server-in", Direction::kIngress, 0}};
    r.flow_id = FlowId(Entry(e).key, e.ct_created_ns);
    r.start_time_ns = Wall(e.ts_ns);
    return r;
  }

  GenerationHistory history_;
  testing::Generation g1_ = testing::MakeGeneration(Yaml("server-in"), 1);
  std::vector<FlowRecord> out_;
  FlowTracker tracker_{{.node = "node-a", .close_grace_ns = static_cast<int64_t>(kS), .settle_ns = 50'000'000},
                       &history_,
                       [this](FlowRecord&& r) { out_.push_back(std::move(r)); }};
};

TEST_F(FlowTrackerTest, ATcpConnectionIsOneStartUpdatesWhenItMovedAndOneEnd) {
  const nf_event ev = NewFlow(kClient, 40000, kServer, 80, 6, kMono0 + 1'500'000, g1_, 1);
  tracker_.OnNewFlow(ev);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord start = TcpBase(ev);
  start.event = EventKind::kStart;
  start.time_ns = Wall(ev.ts_ns);
  start.start_time_ns = 0;
  start.packets = start.src_packets = 1;
  start.bytes = start.src_bytes = 74;
  start.tcp_flags_src = kSyn;
  EXPECT_EQ(out[0], start);
  // The line as the file gets it.
  const std::string ids[2] = {std::to_string(g1_.IdentityOf(kClient)), std::to_string(g1_.IdentityOf(kServer))};
  EXPECT_EQ(ToJson(out[0]),
            "{\"schema\":\"netfence.flow/v1\",\"time\":\"2026-12-01T19:33:34.124956789Z\",\"event\":\"start\","
            "\"node\":\"node-a\",\"observation_point\":\"xdp\",\"ifindex\":7,\"verdict\":\"allowed\",\"direction\":"
            "\"ingress\",\"reason\":\"policy\",\"proto\":\"TCP\",\"src\":{\"ip\":\"10.0.0.2\",\"port\":40000,"
            "\"namespace\":\"default\",\"pod\":\"client\",\"node\":\"\",\"labels\":{\"app\":\"client\"},\"identity\":" +
                ids[0] +
                "},\"dst\":{\"ip\":\"10.0.0.1\",\"port\":80,\"namespace\":\"default\",\"pod\":\"server\",\"node\":\"\","
                "\"labels\":{\"app\":\"server\"},\"identity\":" +
                ids[1] + "},\"community_id\":\"" + start.community_id +
                "\",\"packets\":1,\"bytes\":74,\"generation\":1,\"policies\":[{\"namespace\":\"default\",\"name\":"
                "\"server-in\",\"direction\":\"ingress\",\"rule\":0,\"kind\":\"NetworkPolicy\",\"tier\":"
                "\"NetworkPolicy\",\"action\":\"Allow\"}],\"flow_id\":" +
                std::to_string(start.flow_id) +
                ",\"src_packets\":1,\"src_bytes\":74,\"dst_packets\":0,\"dst_bytes\":0,\"tcp_flags\":{\"src\":"
                "[\"SYN\"],\"dst\":[]}}");

  // Ten seconds on, both directions moved: one update with the totals.
  CtEntry c = Entry(ev);
  c.entry.packets[0] = 5;
  c.entry.packets[1] = 4;
  c.entry.bytes[0] = 500;
  c.entry.bytes[1] = 1200;
  c.entry.tcp_flags[0] = kSyn | kAck | kPsh;
  c.entry.tcp_flags[1] = kSyn | kAck;
  c.entry.flags |= NF_CT_SEEN_REPLY;
  c.entry.last_seen_ns = kMono0 + 9 * kS;
  Scan({c}, kMono0 + 10 * kS, true);
  out = Take();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord update = TcpBase(ev);
  update.event = EventKind::kUpdate;
  update.time_ns = Wall(kMono0 + 10 * kS);
  update.packets = 9;
  update.bytes = 1700;
  update.src_packets = 5;
  update.src_bytes = 500;
  update.dst_packets = 4;
  update.dst_bytes = 1200;
  update.tcp_flags_src = kSyn | kAck | kPsh;
  update.tcp_flags_dst = kSyn | kAck;
  EXPECT_EQ(out[0], update);
  // Nothing moved: no update. Not an update tick: no update either.
  Scan({c}, kMono0 + 20 * kS, true);
  c.entry.packets[0] = 6;
  Scan({c}, kMono0 + 21 * kS, false);
  EXPECT_TRUE(Take().empty());

  // Closed (FIN both ways): the end waits until the connection is quiet for close_grace, so
  // the last ACK is counted.
  c.entry.flags |= NF_CT_FIN_A | NF_CT_FIN_B | NF_CT_CLOSED;
  c.entry.tcp_flags[0] |= kFin;
  c.entry.tcp_flags[1] |= kFin;
  c.entry.packets[0] = 7;
  c.entry.bytes[0] = 600;
  c.entry.last_seen_ns = kMono0 + 22 * kS;
  Scan({c}, kMono0 + 22 * kS + kS / 2, false);
  EXPECT_TRUE(Take().empty());
  Scan({c}, kMono0 + 23 * kS + 1, false);
  out = Take();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord end = TcpBase(ev);
  end.event = EventKind::kEnd;
  end.time_ns = Wall(kMono0 + 23 * kS + 1);
  end.end_time_ns = Wall(kMono0 + 22 * kS);
  end.end_reason = "closed";
  end.packets = 11;
  end.bytes = 1800;
  end.src_packets = 7;
  end.src_bytes = 600;
  end.dst_packets = 4;
  end.dst_bytes = 1200;
  end.tcp_flags_src = kSyn | kAck | kPsh | kFin;
  end.tcp_flags_dst = kSyn | kAck | kFin;
  EXPECT_EQ(out[0], end);
  EXPECT_EQ(tracker_.active(), 0u);
  // The closed entry lingers, then goes: nothing more is said.
  Scan({c}, kMono0 + 24 * kS, true);
  Scan({}, kMono0 + 25 * kS, true);
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(tracker_.stats().starts, 1u);
  EXPECT_EQ(tracker_.stats().updates, 1u);
  EXPECT_EQ(tracker_.stats().ends, 1u);
}

TEST_F(FlowTrackerTest, TheObservationPointIsTheHookOfTheFastPathThatSawThePackets) {
  std::vector<FlowRecord> out;
  FlowTracker dpdk({.node = "node-a", .fast_path = "dpdk"}, &history_, [&](FlowRecord&& r) { out.push_back(r); });
  nf_event rx = NewFlow(kClient, 40000, kServer, 80, 6, kMono0, g1_, 1);
  dpdk.OnNewFlow(rx);
  tracker_.OnNewFlow(rx);
  nf_event tc = NewFlow(kClient, 40001, kServer, 80, 6, kMono0, g1_, 1);
  tc.hook = NF_HOOK_TC;
  tracker_.OnNewFlow(tc);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].observation_point, "dpdk");
  const auto xdp = Take();
  ASSERT_EQ(xdp.size(), 2u);
  EXPECT_EQ(xdp[0].observation_point, "xdp");
  EXPECT_EQ(xdp[1].observation_point, "tc-egress");
}

TEST_F(FlowTrackerTest, AConnectionWhoseEntryVanishesIsEvictedAndAnIdleOneTimesOut) {
  const nf_event a = NewFlow(kClient, 5000, kServer, 53, 17, kMono0, g1_, 1);
  const nf_event b = NewFlow(kClient, 5001, kServer, 53, 17, kMono0, g1_, 1);
  tracker_.OnNewFlow(a);
  tracker_.OnNewFlow(b);
  ASSERT_EQ(Take().size(), 2u);
  EXPECT_EQ(tracker_.active(), 2u);
  // a's entry is gone (the table was full) while it was in use.
  Scan({Entry(b)}, kMono0 + 30 * kS, false);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end_reason, "evicted");
  EXPECT_EQ(out[0].src.port, 5000);
  EXPECT_EQ(out[0].packets, 1u);
  // b's last packet is 61 s old (UDP: 60 s).
  Scan({Entry(b)}, kMono0 + 61 * kS, false);
  out = Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].end_reason, "idle-timeout");
  EXPECT_EQ(out[0].src.port, 5001);
  EXPECT_EQ(out[0].end_time_ns, Wall(b.ct_created_ns));
  EXPECT_EQ(tracker_.active(), 0u);
}

TEST_F(FlowTrackerTest, ARevokedConnectionEndsWithTheCountersOfItsLastEntry) {
  const nf_event ev = NewFlow(kClient, 40000, kServer, 80, 6, kMono0, g1_, 1);
  tracker_.OnNewFlow(ev);
  Take();
  // The server's reply under generation 2 is cut: the event carries the entry's last counters.
  nf_event cut = testing::Event(NF_EV_REVOKED, kServer, 80, kClient, 40000, 6, 2, kMono0 + 3 * kS);
  cut.reason = NF_DROP_REVOKED;
  cut.ct_created_ns = ev.ct_created_ns;
  cut.ct_epoch = 1;
  cut.ct_flags = ev.ct_flags | NF_CT_SEEN_REPLY;
  cut.ct_packets[0] = 3;
  cut.ct_packets[1] = 2;
  cut.ct_bytes[0] = 300;
  cut.ct_bytes[1] = 200;
  cut.ct_tcp_flags[0] = kSyn | kAck;
  cut.ct_tcp_flags[1] = kSyn | kAck;
  tracker_.OnRevoked(cut);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord end = TcpBase(ev);
  end.event = EventKind::kEnd;
  end.time_ns = Wall(cut.ts_ns);
  end.end_time_ns = Wall(ev.ct_created_ns);  // its last packet seen: the first (no scan since)
  end.end_reason = "revoked";
  end.packets = 5;
  end.bytes = 500;
  end.src_packets = 3;
  end.src_bytes = 300;
  end.dst_packets = 2;
  end.dst_bytes = 200;
  end.tcp_flags_src = kSyn | kAck;
  end.tcp_flags_dst = kSyn | kAck;
  EXPECT_EQ(out[0], end);
  Scan({}, kMono0 + 4 * kS, true);
  EXPECT_TRUE(Take().empty());
}

TEST_F(FlowTrackerTest, AStartWhoseEventWasLostIsWrittenFromTheEntry) {
  const nf_event ev = NewFlow(kClient, 40000, kServer, 80, 6, kMono0, g1_, 1);
  CtEntry c = Entry(ev);  // never delivered: the ring was full
  c.entry.packets[1] = 1;
  c.entry.bytes[1] = 60;
  const nf_event young = NewFlow(kClient, 40001, kServer, 80, 6, kMono0 + 2 * kS - 10'000'000, g1_, 1);
  // The young entry's event may still be on its way: left for the next scan.
  Scan({c, Entry(young)}, kMono0 + 2 * kS, false);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord start = TcpBase(ev);
  start.event = EventKind::kStart;
  start.time_ns = Wall(ev.ct_created_ns);
  start.start_time_ns = 0;
  start.packets = 2;
  start.bytes = 134;
  start.src_packets = 1;
  start.src_bytes = 74;
  start.dst_packets = 1;
  start.dst_bytes = 60;
  start.tcp_flags_src = kSyn;
  EXPECT_EQ(out[0], start);
  EXPECT_EQ(tracker_.stats().recovered, 1u);
  Scan({c, Entry(young)}, kMono0 + 3 * kS, false);
  out = Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].src.port, 40001);
  // Without news no record while a scan has events waiting (recover = false).
  const nf_event later = NewFlow(kClient, 40002, kServer, 80, 6, kMono0, g1_, 1);
  std::vector<CtEntry> entries = {c, Entry(young), Entry(later)};
  tracker_.OnScan({.entries = &entries,
                   .read_mono = kMono0 + 4 * kS,
                   .now_mono = kMono0 + 4 * kS,
                   .now_wall = Wall(kMono0 + 4 * kS),
                   .recover = false});
  EXPECT_TRUE(Take().empty());
}

TEST_F(FlowTrackerTest, ARecheckedConnectionIsNamedAsOfTheGenerationThatRecheckedIt) {
  const nf_event ev = NewFlow(kClient, 40000, kServer, 80, 6, kMono0, g1_, 1);
  tracker_.OnNewFlow(ev);
  Take();
  // Generation 2 renames the policy; the connection's next packet re-checks it (epoch 2).
  auto g2 = testing::MakeGeneration(Yaml("server-in-v2"), 2);
  testing::AddGeneration(&history_, g2, 2, 1);
  CtEntry c = Entry(ev);
  c.entry.epoch = 2;
  c.entry.packets[0] = 2;
  c.entry.last_seen_ns = kMono0 + kS;
  Scan({c}, kMono0 + 2 * kS, true);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event, EventKind::kUpdate);
  EXPECT_EQ(out[0].generation, 2u);
  EXPECT_EQ(out[0].policies, (std::vector<PolicyRef>{{"default", "server-in-v2", Direction::kIngress, 0}}));
}

TEST_F(FlowTrackerTest, AdoptedConnectionsContinueWithoutAStart) {
  const nf_event ev = NewFlow(kClient, 40000, kServer, 80, 6, kMono0, g1_, 1);
  CtEntry open = Entry(ev);
  CtEntry closed = Entry(NewFlow(kClient, 40001, kServer, 80, 6, kMono0, g1_, 1));
  closed.entry.flags |= NF_CT_CLOSED;
  tracker_.Adopt({open, closed}, kMono0 + 5 * kS);
  EXPECT_EQ(tracker_.active(), 1u);
  EXPECT_EQ(tracker_.stats().adopted, 1u);
  open.entry.packets[0] = 3;
  Scan({open, closed}, kMono0 + 6 * kS, true);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord update = TcpBase(ev);
  update.event = EventKind::kUpdate;
  update.time_ns = Wall(kMono0 + 6 * kS);
  update.start_time_ns = Wall(ev.ct_created_ns);  // as the entry has it
  update.packets = update.src_packets = 3;
  update.bytes = update.src_bytes = 74;
  update.tcp_flags_src = kSyn;
  EXPECT_EQ(out[0], update);  // same flow_id as the earlier agent's start
}

TEST_F(FlowTrackerTest, AConnectionTakenOverIsNamedAsTheEarlierAgentHandedItOver) {
  // The earlier agent saw the connection admitted by generation 1 (epoch 1), then programmed
  // generation 2 (epoch 2, the policy renamed); the connection sent nothing since, so its entry
  // is still of epoch 1. The restarted agent only knows generation 2.
  const nf_event ev = NewFlow(kClient, 40000, kServer, 80, 6, kMono0, g1_, 1);
  tracker_.OnNewFlow(ev);
  auto g2 = testing::MakeGeneration(Yaml("server-in-v2"), 2);
  testing::AddGeneration(&history_, g2, 2, 1);
  Take();
  const std::vector<FlowRecord> handed = tracker_.Handover();
  ASSERT_EQ(handed.size(), 1u);

  GenerationHistory restarted;
  testing::AddGeneration(&restarted, g2, 2, 5);
  std::vector<FlowRecord> out;
  FlowTracker next({.node = "node-a"}, &restarted, [&](FlowRecord&& r) { out.push_back(std::move(r)); });
  next.set_clock(kOffset);
  CtEntry c = Entry(ev);
  std::unordered_map<uint64_t, FlowRecord> by_id;
  for (const FlowRecord& r : handed) by_id.emplace(r.flow_id, r);
  next.Adopt({c}, kMono0 + kS, by_id);
  EXPECT_EQ(next.stats().handed_over, 1u);
  c.entry.packets[1] = 1;  // a reply, still under epoch 1 (not re-checked yet: same entry)
  c.entry.last_seen_ns = kMono0 + kS;
  std::vector<CtEntry> entries = {c};
  next.OnScan({.entries = &entries,
               .read_mono = kMono0 + 2 * kS,
               .now_mono = kMono0 + 2 * kS,
               .now_wall = Wall(kMono0 + 2 * kS),
               .update_tick = true});
  ASSERT_EQ(out.size(), 1u);
  FlowRecord update = TcpBase(ev);
  update.event = EventKind::kUpdate;
  update.time_ns = Wall(kMono0 + 2 * kS);
  update.packets = 2;
  update.src_packets = update.dst_packets = 1;
  update.bytes = update.src_bytes = 74;
  update.tcp_flags_src = kSyn;
  EXPECT_EQ(out[0], update);  // generation 1, server-in: as admitted

  // Without the handover (an agent that crashed): the addresses are named as of the live
  // generation, the unknown programming's rule is not guessed.
  out.clear();
  FlowTracker orphan({.node = "node-a"}, &restarted, [&](FlowRecord&& r) { out.push_back(std::move(r)); });
  orphan.set_clock(kOffset);
  orphan.Adopt({Entry(ev)}, kMono0 + kS);
  orphan.OnScan({.entries = &entries,
                 .read_mono = kMono0 + 2 * kS,
                 .now_mono = kMono0 + 2 * kS,
                 .now_wall = Wall(kMono0 + 2 * kS),
                 .update_tick = true});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].src.pod, "client");
  EXPECT_EQ(out[0].dst.pod, "server");
  EXPECT_EQ(out[0].generation, 0u);
  EXPECT_EQ(orphan.stats().unattributed, 1u);
}

TEST_F(FlowTrackerTest, TheSameTupleReopenedEndsTheOldConnectionFirst) {
  const nf_event first = NewFlow(kClient, 40000, kServer, 80, 6, kMono0, g1_, 1);
  tracker_.OnNewFlow(first);
  CtEntry c = Entry(first);
  c.entry.flags |= NF_CT_CLOSED;
  c.entry.last_seen_ns = kMono0 + kS / 2;
  Scan({c}, kMono0 + kS / 2 + 1, false);  // closed, not yet quiet
  const nf_event again = NewFlow(kClient, 40000, kServer, 80, 6, kMono0 + kS, g1_, 1);
  tracker_.OnNewFlow(again);
  auto out = Take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].event, EventKind::kEnd);
  EXPECT_EQ(out[1].end_reason, "closed");
  EXPECT_EQ(out[1].flow_id, out[0].flow_id);
  EXPECT_EQ(out[2].event, EventKind::kStart);
  EXPECT_NE(out[2].flow_id, out[0].flow_id);
  EXPECT_EQ(tracker_.active(), 1u);
}

TEST_F(FlowTrackerTest, AnUntrackedIcmpMessageIsAStartOfItsOnePacket) {
  nf_event e = testing::Event(NF_EV_NEW_FLOW, kServer, 0, kClient, 0, 1, 1, kMono0);
  e.icmp_type = 3;
  e.icmp_code = 1;
  tracker_.OnNewFlow(e);
  auto out = Take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].proto, 1);
  EXPECT_FALSE(out[0].src.port.has_value());
  EXPECT_FALSE(out[0].dst.port.has_value());
  EXPECT_EQ(out[0].src.ip, IpAddr::Parse(kServer));
  EXPECT_EQ(out[0].community_id, CommunityId(*IpAddr::Parse(kServer), *IpAddr::Parse(kClient), 1, 3, 1));
  EXPECT_EQ(out[0].reason, reason::kNoPolicy);
  EXPECT_EQ(out[0].packets, 1u);
  EXPECT_EQ(tracker_.active(), 0u);
}

}  // namespace
}  // namespace netfence::flowlog
