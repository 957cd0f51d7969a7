// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/time_format.h"

#include <gtest/gtest.h>

namespace netfence::flowlog {
namespace {

// 2026-12-01T19:33:34.123456789Z
constexpr int64_t kT = 1796153614LL * kNsPerSecond + 123456789;

TEST(TimeFormatTest, FormatsUtcWithNineDigits) {
  EXPECT_EQ(FormatTime(kT), "2026-12-01T19:33:34.123456789Z");
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatTime(951782400LL * kNsPerSecond + 5), "2000-02-29T00:00:00.000000005Z");  // leap day
  EXPECT_EQ(FormatTimeForFileName(kT), "2026-12-01T19-33-34.123456789Z");
}

TEST(TimeFormatTest, ParsesWhatItFormatsAndOtherRfc3339Forms) {
  EXPECT_EQ(ParseTime("2026-12-01T19:33:34.123456789Z"), kT);
  EXPECT_EQ(ParseTime("2026-12-01T20:33:34.123456789+01:00"), kT);
  EXPECT_EQ(ParseTime("2026-12-01t19:33:34.123456789z"), kT);
  EXPECT_EQ(ParseTime("2026-12-01T19:33:34Z"), kT - 123456789);
  EXPECT_EQ(ParseTime("2026-12-01T19:33:34.5Z"), kT - 123456789 + 500000000);
  EXPECT_EQ(ParseTime("2026-12-01 14:33:34.123456789-05:00"), kT);
  for (int64_t t : {int64_t{0}, kT, kT + 1, int64_t{4102444799} * kNsPerSecond + 999999999}) {
    EXPECT_EQ(ParseTime(FormatTime(t)), t) << FormatTime(t);
  }
}

TEST(TimeFormatTest, RejectsInvalidTimes) {
  for (const char* bad :
       {"", "2026-12-01", "2026-12-01T19:33:34", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-12-01T24:00:00Z",
        "2026-12-01T19:33:34.Z", "2026-12-01T19:33:34Zjunk", "2026-12-01T19:33:34+0100", "yesterday"}) {
    EXPECT_FALSE(ParseTime(bad).has_value()) << bad;
  }
}

TEST(TimeFormatTest, Durations) {
  EXPECT_EQ(ParseDuration("10m"), 600 * kNsPerSecond);
  EXPECT_EQ(ParseDuration("2h"), 7200 * kNsPerSecond);
  EXPECT_EQ(ParseDuration("1h30m"), 5400 * kNsPerSecond);
  EXPECT_EQ(ParseDuration("90s"), 90 * kNsPerSecond);
  EXPECT_EQ(ParseDuration("1d"), 86400 * kNsPerSecond);
  EXPECT_EQ(ParseDuration("500ms"), 500'000'000);
  EXPECT_EQ(ParseDuration("1.5h"), 5400 * kNsPerSecond);
  for (const char* bad : {"", "10", "m", "10x", "-5m", "0s", "1h-2m"})
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
}

}  // namespace
}  // namespace netfence::flowlog
