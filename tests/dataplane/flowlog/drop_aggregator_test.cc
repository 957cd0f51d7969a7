// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/drop_aggregator.h"

#include <gtest/gtest.h>

#include <random>

#include "dataplane/flowlog/community_id.h"
#include "tests/dataplane/flowlog/records.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;

constexpr int64_t kSec = kNsPerSecond;

struct Fixture {
  int64_t now = kT0;
  DropAggregator agg;
  explicit Fixture(DropAggregator::Options o = {}) : agg(o, [this] { return now; }) {}
};

DropObservation Drop(const char* src, const char* dst, uint16_t sport, uint16_t dport, int64_t t, uint8_t proto = 6) {
  DropObservation d;
  d.time_ns = t;
  d.src = *IpAddr::Parse(src);
  d.dst = *IpAddr::Parse(dst);
  d.proto = proto;
  d.sport = sport;
  d.dport = dport;
  d.reason = reason::kDefaultDeny;
  d.direction = Direction::kIngress;
  d.generation = 7;
  d.bytes = 60;
  d.ifindex = 3;
  return d;
}

uint64_t Sum(const std::vector<DropAggregate>& v) {
  uint64_t n = 0;
  for (const auto& a : v) n += a.count;
  return n;
}

TEST(DropAggregatorTest, RetriedSynsOfOneConnectionAreOneExactRecord) {
  Fixture f({.window_ns = 2 * kSec});
  for (int i = 0; i < 4; ++i) {
    f.now = kT0 + i * 300'000'000;
    f.agg.Add(Drop("10.0.1.5", "10.0.2.9", 40000, 5432, f.now));
  }
  f.now = kT0 + 2 * kSec - 1;
  EXPECT_TRUE(f.agg.Poll().empty());  // the window is still open
  f.now = kT0 + 2 * kSec;
  auto out = f.agg.Poll();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord r = out[0].ToRecord(f.now);
  EXPECT_EQ(ToJson(r),
            R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:36.123456789Z","event":"drop","ifindex":3,)"
            R"("verdict":"denied","direction":"ingress","reason":"default-deny","proto":"TCP",)"
            R"("src":{"ip":"10.0.1.5","port":40000,"namespace":"","pod":"","node":""},)"
            R"("dst":{"ip":"10.0.2.9","port":5432,"namespace":"","pod":"","node":""},)"
            R"("community_id":")" +
                CommunityId(*IpAddr::Parse("10.0.1.5"), *IpAddr::Parse("10.0.2.9"), 6, 40000, 5432) +
                R"(","packets":4,"bytes":240,"generation":7,"policies":[],"count":4,)"
                R"("first_time":"2026-12-01T19:33:34.123456789Z","last_time":"2026-12-01T19:33:35.023456789Z",)"
                R"("aggregation":"exact"})");
  EXPECT_EQ(f.agg.open(), 0u);
}

TEST(DropAggregatorTest, EachSourcePortIsARecordOfItsOwnWithItsCommunityId) {
  Fixture f;
  f.agg.Add(Drop("10.0.1.5", "10.0.2.9", 40000, 80, kT0));
  f.agg.Add(Drop("10.0.1.5", "10.0.2.9", 40001, 80, kT0));
  f.agg.Add(Drop("10.0.1.5", "10.0.2.9", 40001, 80, kT0));
  auto out = f.agg.FlushAll();
  ASSERT_EQ(out.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const uint16_t sport = static_cast<uint16_t>(40000 + i);
    FlowRecord r = out[i].ToRecord(kT0);
    EXPECT_EQ(r.src.port, sport);
    EXPECT_EQ(r.dst.port, 80);
    EXPECT_EQ(r.community_id, CommunityId(*IpAddr::Parse("10.0.1.5"), *IpAddr::Parse("10.0.2.9"), 6, sport, 80));
    EXPECT_EQ(r.count, i + 1);
    EXPECT_EQ(r.aggregation, Aggregation::kExact);
    EXPECT_EQ(r.folded_tuples, 0u);
  }
}

TEST(DropAggregatorTest, KeyIncludesReasonDirectionProtoPortsAndGeneration) {
  Fixture f;
  DropObservation base = Drop("10.0.1.5", "10.0.2.9", 1, 80, kT0);
  f.agg.Add(base);
  DropObservation d = base;
  d.reason = reason::kSpoofed;
  f.agg.Add(d);
  d = base;
  d.direction = Direction::kEgress;
  f.agg.Add(d);
  d = base;
  d.proto = 17;
  f.agg.Add(d);
  d = base;
  d.dport = 81;
  f.agg.Add(d);
  d = base;
  d.sport = 2;
  f.agg.Add(d);
  d = base;
  d.generation = 8;
  f.agg.Add(d);
  f.agg.Add(base);  // same as the first
  auto out = f.agg.FlushAll();
  EXPECT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].count, 2u);
  EXPECT_EQ(Sum(out), 8u);
}

TEST(DropAggregatorTest, TuplesBeyondTheBoundOfTheirGroupFoldIntoOneRecordSayingHowMuch) {
  // A flood from random source ports to one port: the first 4 tuples are exact, the other 96
  // one folded record of 96 tuples and their 288 packets.
  Fixture f({.window_ns = 2 * kSec, .max_tuples_per_group = 4});
  for (int round = 0; round < 3; ++round) {
    for (uint16_t sport = 1000; sport < 1100; ++sport) f.agg.Add(Drop("10.0.1.5", "10.0.2.9", sport, 80, kT0 + round));
  }
  f.agg.Add(Drop("10.0.1.5", "10.0.2.9", 2000, 443, kT0));  // another group: its own bound
  f.now += 2 * kSec;
  auto out = f.agg.Poll();
  ASSERT_EQ(out.size(), 6u);
  uint64_t exact = 0;
  for (const auto& a : out) {
    if (a.aggregation != Aggregation::kExact) continue;
    ++exact;
    EXPECT_EQ(a.count, a.dport == 80 ? 3u : 1u);
    EXPECT_EQ(a.tuples, 1u);
  }
  EXPECT_EQ(exact, 5u);
  const DropAggregate& folded = out[4];  // opened by the fifth tuple, after the four exact ones
  ASSERT_EQ(folded.aggregation, Aggregation::kFolded);
  EXPECT_EQ(folded.tuples, 96u);
  EXPECT_EQ(folded.count, 288u);
  EXPECT_EQ(ToJson(folded.ToRecord(f.now)),
            R"({"schema":"netfence.flow/v1","time":"2026-12-01T19:33:36.123456789Z","event":"drop","ifindex":3,)"
            R"("verdict":"denied","direction":"ingress","reason":"default-deny","proto":"TCP",)"
            R"("src":{"ip":"10.0.1.5","port":null,"namespace":"","pod":"","node":""},)"
            R"("dst":{"ip":"10.0.2.9","port":80,"namespace":"","pod":"","node":""},)"
            R"("community_id":"","packets":288,"bytes":17280,"generation":7,"policies":[],"count":288,)"
            R"("first_time":"2026-12-01T19:33:34.123456789Z","last_time":"2026-12-01T19:33:34.123456791Z",)"
            R"("aggregation":"folded","folded_tuples":96})");
  EXPECT_EQ(f.agg.stats().folded, 288u);
  EXPECT_EQ(Sum(out), 301u);
}

TEST(DropAggregatorTest, WindowsCloseInOpeningOrderAndReopen) {
  Fixture f({.window_ns = 1 * kSec});
  f.agg.Add(Drop("10.0.0.1", "10.0.0.2", 1, 80, f.now));
  f.now += 500'000'000;
  f.agg.Add(Drop("10.0.0.3", "10.0.0.2", 1, 80, f.now));
  f.now = kT0 + kSec;
  auto first = f.agg.Poll();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].src.str(), "10.0.0.1");
  f.agg.Add(Drop("10.0.0.1", "10.0.0.2", 1, 80, f.now));  // same key: a new window
  f.now = kT0 + 1'500'000'000;
  auto second = f.agg.Poll();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].src.str(), "10.0.0.3");
  f.now = kT0 + 2 * kSec;
  auto third = f.agg.Poll();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].src.str(), "10.0.0.1");
  EXPECT_EQ(third[0].first_ns, kT0 + kSec);
}

TEST(DropAggregatorTest, PortScanGivesOneRecordPerPortWithExactTotals) {
  Fixture f({.window_ns = 5 * kSec, .max_exact = 100000});
  for (int round = 0; round < 3; ++round) {
    for (uint32_t port = 1; port <= 65535; ++port) {
      f.agg.Add(Drop("192.0.2.66", "10.0.2.9", 55555, static_cast<uint16_t>(port), f.now));
    }
  }
  f.now += 5 * kSec;
  auto out = f.agg.Poll();
  EXPECT_EQ(out.size(), 65535u);
  EXPECT_EQ(Sum(out), 3u * 65535u);
  for (const auto& a : out) ASSERT_EQ(a.count, 3u);
}

TEST(DropAggregatorTest, FullTablesFoldThenOverflowAndCountEveryDrop) {
  Fixture f({.window_ns = 2 * kSec, .max_tuples_per_group = 2, .max_exact = 10, .max_folded = 3});
  std::mt19937 rng(1);
  uint64_t fed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string src = "10.0.0." + std::to_string(rng() % 8);
    std::string dst = "10.0.1." + std::to_string(rng() % 8);
    f.now = kT0 + static_cast<int64_t>(i) * 1000;
    f.agg.Add(Drop(src.c_str(), dst.c_str(), static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng() % 1000), f.now,
                   rng() % 2 ? 6 : 17));
    ++fed;
  }
  EXPECT_LE(f.agg.open(), 10u + 3u + 2u);  // exact + folded + one overflow per (proto, reason, direction)
  f.now += 2 * kSec;
  auto out = f.agg.Poll();
  EXPECT_EQ(Sum(out), fed);
  EXPECT_EQ(f.agg.stats().drops, fed);
  uint64_t exact = 0, folded = 0, overflow = 0;
  for (const auto& a : out) {
    FlowRecord r = a.ToRecord(f.now);
    if (a.aggregation == Aggregation::kExact) {
      exact += a.count;
      EXPECT_NE(r.community_id, "");
    }
    if (a.aggregation == Aggregation::kFolded) {
      folded += a.count;
      EXPECT_TRUE(r.src.ip.has_value());
      EXPECT_FALSE(r.src.port.has_value());
      EXPECT_TRUE(r.dst.port.has_value());
      EXPECT_GE(r.folded_tuples, 1u);
      EXPECT_LE(r.folded_tuples, r.count);
    }
    if (a.aggregation == Aggregation::kOverflow) {
      overflow += a.count;
      EXPECT_FALSE(r.src.ip.has_value());
      EXPECT_EQ(r.community_id, "");
      EXPECT_EQ(r.folded_tuples, 0u);  // not known
    }
  }
  EXPECT_EQ(folded, f.agg.stats().folded);
  EXPECT_EQ(overflow, f.agg.stats().overflowed);
  EXPECT_GT(folded, 0u);
  EXPECT_GT(overflow, 0u);
  EXPECT_EQ(exact + folded + overflow, fed);
  EXPECT_EQ(f.agg.open(), 0u);
}

TEST(DropAggregatorTest, SumOfCountsEqualsDropsFedOverManyWindows) {
  Fixture f({.window_ns = 1 * kSec, .max_tuples_per_group = 3, .max_exact = 50, .max_folded = 5});
  std::mt19937 rng(2);
  uint64_t emitted = 0;
  for (int i = 0; i < 200000; ++i) {
    f.now = kT0 + static_cast<int64_t>(i) * 50'000;  // 10 s in total
    std::string src = "10.9." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 30);
    f.agg.Add(Drop(src.c_str(), "10.0.0.1", static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng() % 200), f.now));
    if (i % 1000 == 0) emitted += Sum(f.agg.Poll());
  }
  emitted += Sum(f.agg.FlushAll());
  EXPECT_EQ(emitted, 200000u);
}

TEST(DropAggregatorTest, SaysWhichGenerationsItsOpenAggregatesHold) {
  Fixture f({.window_ns = kSec});
  f.agg.Add(Drop("10.0.0.1", "10.0.0.2", 1, 80, kT0));
  DropObservation d = Drop("10.0.0.1", "10.0.0.2", 2, 80, kT0);
  d.generation = 9;
  f.now += kSec / 2;
  f.agg.Add(d);
  EXPECT_TRUE(f.agg.Holds(7));
  EXPECT_TRUE(f.agg.Holds(9));
  f.now = kT0 + kSec;
  EXPECT_EQ(f.agg.Poll().size(), 1u);
  EXPECT_FALSE(f.agg.Holds(7));
  EXPECT_TRUE(f.agg.Holds(9));
  EXPECT_EQ(f.agg.FlushAll().size(), 1u);
  EXPECT_FALSE(f.agg.Holds(9));
}

TEST(DropAggregatorTest, PortlessProtocolsHaveNullPortsAndAnId) {
  Fixture f;
  DropObservation d = Drop("10.0.0.1", "10.0.0.2", 0, 0, kT0, 47);
  d.has_ports = false;
  f.agg.Add(d);
  auto out = f.agg.FlushAll();
  ASSERT_EQ(out.size(), 1u);
  FlowRecord r = out[0].ToRecord(kT0);
  EXPECT_FALSE(r.src.port.has_value());
  EXPECT_FALSE(r.dst.port.has_value());
  EXPECT_EQ(r.community_id, CommunityId(d.src, d.dst, 47, 0, 0));
}

}  // namespace
}  // namespace netfence::flowlog
