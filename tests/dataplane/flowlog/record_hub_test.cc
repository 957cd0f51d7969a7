// SPDX-License-Identifier: Apache-2.0
// RecordHub: history for `since` queries, filters per subscriber, bounded queues whose
// overflow becomes a `lost` record on that subscriber's stream only.
#include "dataplane/flowlog/record_hub.h"

#include <gtest/gtest.h>

#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

EmittedPtr Emit(FlowRecord r) {
  auto e = std::make_shared<Emitted>();
  e->line = ToJson(r);
  e->record = std::move(r);
  return e;
}
FlowRecord At(int64_t t, const char* ns) {
  FlowRecord r = testing::StartRecord();
  r.time_ns = t;
  r.src.ns = ns;
  r.dst.ns = ns;
  return r;
}
std::vector<std::string> Drain(RecordHub& hub, RecordHub::Subscription& s) {
  std::vector<std::string> out;
  for (EmittedPtr e = hub.Take(s); e; e = hub.Take(s)) out.push_back(e->line);
  return out;
}

TEST(RecordHubTest, ReplaysTheMatchingHistoryThenFollows) {
  RecordHub hub({.history = 3, .queue = 10, .node = "node-a"});
  for (int i = 0; i < 4; ++i) hub.Write(Emit(At(testing::kT0 + i, i % 2 ? "shop" : "dev")));
  FlowFilter f;
  f.namespaces = {"shop"};
  f.since_ns = testing::kT0 + 1;
  int notified = 0;
  RecordHub::HistoryInfo info;
  auto sub = hub.Subscribe(
      f, true, true, [&] { ++notified; }, &info);
  EXPECT_EQ(info.records, 3u);
  EXPECT_EQ(info.oldest_ns, testing::kT0 + 1);
  EXPECT_FALSE(info.truncated);  // only kT0 left, before `since`
  EXPECT_EQ(Drain(hub, *sub),
            (std::vector<std::string>{ToJson(At(testing::kT0 + 1, "shop")), ToJson(At(testing::kT0 + 3, "shop"))}));
  hub.Write(Emit(At(testing::kT0 + 4, "dev")));  // not ours: no wake-up
  EXPECT_EQ(notified, 0);
  hub.Write(Emit(At(testing::kT0 + 5, "shop")));
  hub.Write(Emit(At(testing::kT0 + 6, "shop")));  // queued behind, no second wake-up
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(Drain(hub, *sub).size(), 2u);
  hub.Unsubscribe(sub);
  hub.Write(Emit(At(testing::kT0 + 7, "shop")));
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(hub.subscribers(), 0u);
  // Asking from before the oldest kept record: the history says it is incomplete.
  FlowFilter all;
  auto late = hub.Subscribe(all, true, false, nullptr, &info);
  EXPECT_TRUE(info.truncated);
  EXPECT_EQ(Drain(hub, *late).size(), 3u);
}

TEST(RecordHubTest, ASlowSubscriberLosesOnlyItsOwnRecordsAndIsToldHowMany) {
  RecordHub hub({.history = 1, .queue = 2, .node = "node-a"});
  auto slow = hub.Subscribe({}, false, true, nullptr);
  auto fast = hub.Subscribe({}, false, true, nullptr);
  for (int i = 0; i < 5; ++i) {
    hub.Write(Emit(At(testing::kT0 + i, "shop")));
    if (hub.Take(*fast) == nullptr) ADD_FAILURE() << "fast subscriber missed record " << i;
  }
  auto got = Drain(hub, *slow);
  ASSERT_EQ(got.size(), 3u);
  auto lost = ParseRecord(got[0]);
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(lost->event, EventKind::kLost);
  EXPECT_EQ(lost->lost_events, 3u);
  EXPECT_EQ(lost->lost_at, "observe-queue");
  EXPECT_EQ(lost->node, "node-a");
  EXPECT_EQ(got[1], ToJson(At(testing::kT0, "shop")));
  EXPECT_EQ(got[2], ToJson(At(testing::kT0 + 1, "shop")));
  EXPECT_EQ(hub.lost_total(), 3u);
}

}  // namespace
}  // namespace netfence::flowlog
