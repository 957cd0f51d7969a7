// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/loss_tracker.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;

TEST(LossTrackerTest, NothingLostNoRecord) {
  LossTracker t("ring-buffer");
  EXPECT_FALSE(t.TakeRecord(kT0, "n").has_value());
}

TEST(LossTrackerTest, OneRecordPerPeriodWithFirstAndLastLoss) {
  LossTracker t("pipeline");
  t.Add(3, kT0 + 10);
  t.Add(2, kT0 + 30);
  auto r = t.TakeRecord(kT0 + 100, "node-a");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(ToJson(*r),
            R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:34.123456889Z","event":"lost","node":"node-a",)"
            R"("lost_events":5,"since":"2026-12-01T19:33:34.123456799Z","until":"2026-12-01T19:33:34.123456819Z",)"
            R"("lost_at":"pipeline"})");
  EXPECT_FALSE(t.TakeRecord(kT0 + 200, "node-a").has_value());
  t.Add(1, kT0 + 300);
  r = t.TakeRecord(kT0 + 400, "node-a");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->lost_events, 1u);
  EXPECT_EQ(r->since_ns, kT0 + 300);
  EXPECT_EQ(t.total(), 6u);
}

TEST(LossTrackerTest, CumulativeCounterCountsItsGrowth) {
  LossTracker t("ring-buffer");
  t.ObserveTotal(100, kT0);  // baseline: lost before we started watching
  EXPECT_FALSE(t.TakeRecord(kT0, "").has_value());
  t.ObserveTotal(100, kT0 + 1);
  t.ObserveTotal(130, kT0 + 2);
  auto r = t.TakeRecord(kT0 + 3, "");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->lost_events, 30u);
  t.ObserveTotal(5, kT0 + 4);  // the counter restarted (new program): 5 new losses
  EXPECT_EQ(t.TakeRecord(kT0 + 5, "")->lost_events, 5u);
  LossTracker fresh("ring-buffer");
  fresh.ObserveTotal(9, kT0, /*count_first=*/true);
  EXPECT_EQ(fresh.TakeRecord(kT0, "")->lost_events, 9u);
}

TEST(LossTrackerTest, ConcurrentAddsAreAllReportedExactlyOnce) {
  LossTracker t("sink-queue");
  std::atomic<bool> done{false};
  uint64_t reported = 0;
  std::thread reader([&] {
    while (!done.load()) {
      if (auto r = t.TakeRecord(kT0, "")) reported += r->lost_events;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 100000; ++i) t.Add(1, kT0 + w * 1000000 + i);
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  if (auto r = t.TakeRecord(kT0, "")) reported += r->lost_events;
  EXPECT_EQ(reported, 400000u);
  EXPECT_EQ(t.total(), 400000u);
}

}  // namespace
}  // namespace netfence::flowlog
