// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_summary.h"

#include <gtest/gtest.h>

#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;

FlowSummary Sample() {
  FlowSummary s;
  FlowRecord start = testing::StartRecord();  // shop/frontend -> shop/db, flow 42
  s.Add(start);
  FlowRecord update = testing::EndRecord();
  update.event = EventKind::kUpdate;
  update.bytes = 2000;
  update.packets = 6;
  s.Add(update);
  s.Add(testing::EndRecord());  // 4000 bytes, 12 packets: the flow's total
  FlowRecord other = testing::StartRecord();
  other.flow_id = 43;
  other.src = testing::Pod("10.0.3.3", 1111, "ops", "prober", "node-c");
  other.bytes = 500;
  other.packets = 5;
  other.policies = {{"shop", "allow-db", Direction::kIngress, 1}};
  s.Add(other);
  FlowRecord world = other;  // a flow from outside the cluster
  world.flow_id = 44;
  world.src = Endpoint{IpAddr::Parse("203.0.113.7"), 999, "", "", "", {}, {}};
  world.bytes = 4000;
  world.policies = {};
  s.Add(world);
  FlowRecord drop = testing::DropRecord();  // shop/frontend -> fd00::1 53/UDP, 3 drops
  s.Add(drop);
  drop.count = 10;
  drop.bytes = 1000;
  drop.dst.port.reset();
  s.Add(drop);
  s.Add(LostRecord(7, kT0, kT0, "ring-buffer", kT0, "node-a"));
  return s;
}

TEST(FlowSummaryTest, TopTalkersDeniedAndPolicyHits) {
  FlowSummary s = Sample();
  EXPECT_EQ(s.records(), 8u);
  EXPECT_EQ(s.flows(), 3u);
  EXPECT_EQ(s.drops(), 13u);
  EXPECT_EQ(s.lost_events(), 7u);
  EXPECT_EQ(s.ToJson(10).dump(),
            R"({"drops":13,"flows":3,"lost_events":7,)"
            R"("policy_hits":[{"drops":13,"flows":0,"policy":"shop/deny-all"},)"
            R"({"drops":0,"flows":2,"policy":"shop/allow-db"},{"drops":0,"flows":1,"policy":"shop/frontend-egress"}],)"
            R"("records":8,)"
            R"("top_denied":[{"bytes":1000,"drops":10,"pair":"shop/frontend -> fd00::1 UDP"},)"
            R"({"bytes":300,"drops":3,"pair":"shop/frontend -> fd00::1 53/UDP"}],)"
            R"("top_talkers":[{"bytes":4000,"flows":1,"packets":5,"pair":"203.0.113.7 -> shop/db"},)"
            R"({"bytes":4000,"flows":1,"packets":12,"pair":"shop/frontend -> shop/db"},)"
            R"({"bytes":500,"flows":1,"packets":5,"pair":"ops/prober -> shop/db"}]})");
}

TEST(FlowSummaryTest, TopLimitsEachList) {
  FlowSummary s = Sample();
  EXPECT_EQ(s.TopTalkers(1).size(), 1u);
  EXPECT_EQ(s.TopDenied(1)[0].drops, 10u);
  EXPECT_EQ(s.TopPolicies(2).size(), 2u);
}

TEST(FlowSummaryTest, Text) {
  EXPECT_EQ(Sample().ToText(2),
            "8 records, 3 flows, 13 drops, 7 events lost\n"
            "\n"
            "Top talkers (bytes)\n"
            "  BYTES PACKETS FLOWS SOURCE -> DESTINATION\n"
            "   4000       5     1 203.0.113.7 -> shop/db\n"
            "   4000      12     1 shop/frontend -> shop/db\n"
            "\n"
            "Top denied (drops)\n"
            "  DROPS BYTES SOURCE -> DESTINATION PORT/PROTO\n"
            "     10  1000 shop/frontend -> fd00::1 UDP\n"
            "      3   300 shop/frontend -> fd00::1 53/UDP\n"
            "\n"
            "Policy hits\n"
            "  FLOWS DROPS POLICY\n"
            "      0    13 shop/deny-all\n"
            "      2     0 shop/allow-db\n");
}

TEST(FlowSummaryTest, EmptySummary) {
  EXPECT_EQ(
      FlowSummary().ToText(5),
      "0 records, 0 flows, 0 drops, 0 events lost\n\nTop talkers (bytes)\n"
      "  BYTES PACKETS FLOWS SOURCE -> DESTINATION\n  (none)\n\nTop denied (drops)\n"
      "  DROPS BYTES SOURCE -> DESTINATION PORT/PROTO\n  (none)\n\nPolicy hits\n  FLOWS DROPS POLICY\n  (none)\n");
}

}  // namespace
}  // namespace netfence::flowlog
