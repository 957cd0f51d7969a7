// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_timeline.h"

#include <gtest/gtest.h>

#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;
constexpr int64_t kMs = 1'000'000;

TEST(FlowTimelineTest, EveryRecordOfOneFlowAcrossNodesInTheOrderThingsHappened) {
  FlowRecord start_b = testing::StartRecord();  // the receiver's node (node-b) a little later
  start_b.node = "node-b";
  start_b.time_ns = kT0 + 2 * kMs;
  FlowRecord start_a = testing::StartRecord();
  start_a.direction = Direction::kEgress;
  FlowRecord end_a = testing::EndRecord();
  FlowRecord update_b = testing::EndRecord();
  update_b.event = EventKind::kUpdate;
  update_b.node = "node-b";
  update_b.end_reason.clear();
  update_b.end_time_ns = 0;
  update_b.time_ns = kT0 + 10 * kNsPerSecond;
  FlowRecord other = testing::StartRecord();
  other.community_id = "1:other=";
  FlowTimeline t(start_a.community_id);
  for (const FlowRecord& r : {end_a, update_b, other, start_b, start_a}) t.Add(r);
  EXPECT_EQ(t.size(), 4u);
  const auto sorted = t.Sorted();
  ASSERT_EQ(sorted.size(), 4u);
  EXPECT_EQ(sorted[0], start_a);
  EXPECT_EQ(sorted[1], start_b);
  EXPECT_EQ(sorted[2], update_b);
  EXPECT_EQ(sorted[3], end_a);
  EXPECT_EQ(t.ToText(),
            "flow 1:abc=  TCP  shop/frontend 10.0.1.5:34567 -> shop/db 10.0.2.9:5432  (4 record(s))\n"
            "TIME                            OFFSET       NODE          EVENT   VERDICT  DETAILS\n"
            "2026-12-01T19:33:34.123456789Z  +0.000000s   node-a        start   allowed  egress policy: 1/0 packets, "
            "74/0 bytes (sent/replied); shop/allow-db ingress rule 0; shop/frontend-egress egress rule 2; generation "
            "3; flow_id 42\n"
            "2026-12-01T19:33:34.125456789Z  +0.002000s   node-b        start   allowed  ingress policy: 1/0 packets, "
            "74/0 bytes (sent/replied); shop/allow-db ingress rule 0; shop/frontend-egress egress rule 2; generation "
            "3; flow_id 42\n"
            "2026-12-01T19:33:44.123456789Z  +10.000000s  node-b        update  allowed  ingress policy: 7/5 packets, "
            "1000/3000 bytes (sent/replied); shop/allow-db ingress rule 0; shop/frontend-egress egress rule 2; "
            "generation 3; flow_id 42\n"
            "2026-12-01T19:34:04.123456789Z  +30.000000s  node-a        end     allowed  ingress policy: 7/5 packets, "
            "1000/3000 bytes (sent/replied), closed; shop/allow-db ingress rule 0; shop/frontend-egress egress rule "
            "2; generation 3; flow_id 42\n");
}

TEST(FlowTimelineTest, ADropIsPlacedAtItsFirstDroppedPacket) {
  FlowRecord drop = testing::DropRecord();  // first_time kT0, written at kT0 + 2 s
  FlowRecord start = testing::DropRecord();
  start.event = EventKind::kStart;
  start.verdict = Verdict::kAllowed;
  start.time_ns = kT0 + kNsPerSecond;
  FlowTimeline t(drop.community_id);
  t.Add(start);
  t.Add(drop);
  const auto sorted = t.Sorted();
  ASSERT_EQ(sorted.size(), 2u);
  EXPECT_EQ(sorted[0].event, EventKind::kDrop);
  EXPECT_EQ(FlowTimeline::EventTime(sorted[0]), kT0);
  EXPECT_EQ(FlowTimeline("1:none=").ToText(), "flow 1:none=: no record\n");
}

}  // namespace
}  // namespace netfence::flowlog
