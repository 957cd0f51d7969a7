// SPDX-License-Identifier: Apache-2.0
// Times in the flow log: nanoseconds since the Unix epoch (UTC) in memory, RFC 3339 with
// nine fractional digits on the wire ("2026-12-01T19:33:34.123456789Z").
//
//   std::string t = FormatTime(WallNowNs());        // always UTC, always 9 digits
//   std::optional<int64_t> ns = ParseTime("2026-12-01T20:33:34.5+01:00");  // any offset, 0..9 digits
//   std::optional<int64_t> d = ParseDuration("1h30m");                  // 5'400'000'000'000
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netfence::flowlog {

inline constexpr int64_t kNsPerSecond = 1'000'000'000;

// CLOCK_REALTIME in nanoseconds.
int64_t WallNowNs();
// CLOCK_MONOTONIC in nanoseconds: the clock of the datapath's events and connection entries.
uint64_t MonoNowNs();

// RFC 3339, UTC, nanoseconds: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ". Appends to *out.
void AppendTime(int64_t ns, std::string* out);
std::string FormatTime(int64_t ns);

// Parses RFC 3339 ("T" or "t" or " " between date and time; fraction of 0-9 digits;
// "Z"/"z" or "+hh:mm"/"-hh:mm"). nullopt when it is not a valid time.
std::optional<int64_t> ParseTime(std::string_view text);

// "90s", "10m", "2h", "1d", "1h30m", "500ms", "1.5h": a positive duration in ns. Units: ns, us,
// ms, s, m, h, d. nullopt on anything else.
std::optional<int64_t> ParseDuration(std::string_view text);

// For file names: "2026-12-01T19-33-34.123456789Z" (no colons; sorts like the time).
std::string FormatTimeForFileName(int64_t ns);

}  // namespace netfence::flowlog
