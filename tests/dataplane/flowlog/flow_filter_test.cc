// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_filter.h"

#include <gtest/gtest.h>

#include "dataplane/flowlog/time_format.h"
#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;

TEST(FlowFilterTest, EmptyFilterMatchesEverything) {
  FlowFilter f;
  EXPECT_TRUE(f.Matches(testing::StartRecord()));
  EXPECT_TRUE(f.Matches(testing::DropRecord()));
}

TEST(FlowFilterTest, NamespaceAndPodMatchEitherEndUnlessSided) {
  FlowRecord r = testing::StartRecord();  // shop/frontend -> shop/db
  r.dst.ns = "data";
  FlowFilter f;
  f.namespaces = {"data"};
  EXPECT_TRUE(f.Matches(r));
  f.namespaces = {"other", "shop"};
  EXPECT_TRUE(f.Matches(r));
  f = {};
  f.src_namespaces = {"data"};
  EXPECT_FALSE(f.Matches(r));
  f.src_namespaces = {"shop"};
  f.dst_namespaces = {"data"};
  EXPECT_TRUE(f.Matches(r));
  f = {};
  f.pods = {"db"};
  EXPECT_TRUE(f.Matches(r));
  f.pods = {"data/db"};
  EXPECT_TRUE(f.Matches(r));
  f.pods = {"shop/db"};
  EXPECT_FALSE(f.Matches(r));
  f = {};
  f.dst_pods = {"frontend"};
  EXPECT_FALSE(f.Matches(r));
  f.src_pods = {"shop/frontend"};
  f.dst_pods = {};
  EXPECT_TRUE(f.Matches(r));
  FlowRecord world = testing::DropRecord();  // dst is no pod
  f = {};
  f.pods = {""};
  EXPECT_FALSE(f.Matches(world));
}

TEST(FlowFilterTest, VerdictEventPolicyAndTime) {
  FlowFilter f;
  f.verdicts = {Verdict::kDenied};
  EXPECT_FALSE(f.Matches(testing::StartRecord()));
  EXPECT_TRUE(f.Matches(testing::DropRecord()));
  f = {};
  f.events = {EventKind::kEnd, EventKind::kStart};
  EXPECT_TRUE(f.Matches(testing::StartRecord()));
  EXPECT_FALSE(f.Matches(testing::DropRecord()));
  f = {};
  f.policies = {{"shop", "allow-db"}};
  EXPECT_TRUE(f.Matches(testing::StartRecord()));
  EXPECT_FALSE(f.Matches(testing::DropRecord()));
  f.policies = {{"shop", "deny-all"}};
  EXPECT_TRUE(f.Matches(testing::DropRecord()));
  f = {};
  f.since_ns = kT0;
  f.until_ns = kT0;
  EXPECT_TRUE(f.Matches(testing::StartRecord()));  // inclusive
  f.since_ns = kT0 + 1;
  EXPECT_FALSE(f.Matches(testing::StartRecord()));
  f.since_ns.reset();
  f.until_ns = kT0 - 1;
  EXPECT_FALSE(f.Matches(testing::StartRecord()));
}

TEST(FlowFilterTest, LostRecordsPassEverythingButTimeAndEvents) {
  FlowRecord lost = LostRecord(3, kT0, kT0, "ring-buffer", kT0, "n");
  FlowFilter f;
  f.namespaces = {"shop"};
  f.pods = {"db"};
  f.verdicts = {Verdict::kDenied};
  f.policies = {{"a", "b"}};
  EXPECT_TRUE(f.Matches(lost));
  f.since_ns = kT0 + 1;
  EXPECT_FALSE(f.Matches(lost));
  f.since_ns.reset();
  f.events = {EventKind::kDrop};
  EXPECT_FALSE(f.Matches(lost));
}

TEST(FlowFilterTest, SinceUntilValues) {
  EXPECT_EQ(ParseTimeOrAgo("2026-12-01T19:33:34.123456789Z", 0), kT0);
  // Times past what 64-bit nanoseconds hold are refused, not wrapped.
  EXPECT_TRUE(ParseTime("2262-04-11T23:47:16Z").has_value());
  EXPECT_FALSE(ParseTime("2262-04-11T23:47:17Z").has_value());
  EXPECT_FALSE(ParseTime("5974-12-01T19:33:34.123456789Z").has_value());
  EXPECT_FALSE(ParseTime("1677-09-21T00:12:43Z").has_value());
  EXPECT_EQ(ParseTimeOrAgo("10m", kT0), kT0 - 600 * kNsPerSecond);
  EXPECT_EQ(ParseTimeOrAgo("2h", kT0), kT0 - 7200 * kNsPerSecond);
  EXPECT_FALSE(ParseTimeOrAgo("last tuesday", kT0).has_value());
}

}  // namespace
}  // namespace netfence::flowlog
