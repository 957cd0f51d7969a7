// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/time_format.h"

#include <cctype>
#include <charconv>
#include <ctime>

namespace netfence::flowlog {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

void AppendDigits(uint64_t v, int width, std::string* out) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, static_cast<size_t>(width));
}

// Reads exactly n digits at *p.
bool Digits(std::string_view s, size_t* p, int n, unsigned* v) {
  if (*p + static_cast<size_t>(n) > s.size()) return false;
  unsigned r = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*p + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    r = r * 10 + static_cast<unsigned>(c - '0');
  }
  *p += static_cast<size_t>(n);
  *v = r;
  return true;
}

void AppendParts(int64_t ns, char date_time_sep, char time_sep, std::string* out) {
  int64_t secs = ns / kNsPerSecond;
  int64_t frac = ns % kNsPerSecond;
  if (frac < 0) {
    frac += kNsPerSecond;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  Civil c = CivilFromDays(days);
  AppendDigits(static_cast<uint64_t>(c.y < 0 ? 0 : c.y), 4, out);
  out->push_back('-');
  AppendDigits(c.m, 2, out);
  out->push_back('-');
  AppendDigits(c.d, 2, out);
  out->push_back(date_time_sep);
  AppendDigits(static_cast<uint64_t>(sod / 3600), 2, out);
  out->push_back(time_sep);
  AppendDigits(static_cast<uint64_t>(sod / 60 % 60), 2, out);
  out->push_back(time_sep);
  AppendDigits(static_cast<uint64_t>(sod % 60), 2, out);
  out->push_back('.');
  AppendDigits(static_cast<uint64_t>(frac), 9, out);
  out->push_back('Z');
}

}  // namespace

int64_t WallNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

uint64_t MonoNowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSecond + static_cast<uint64_t>(ts.tv_nsec);
}

void AppendTime(int64_t ns, std::string* out) { AppendParts(ns, 'T', ':', out); }

std::string FormatTime(int64_t ns) {
  std::string s;
  s.reserve(30);
  AppendTime(ns, &s);
  return s;
}

std::string FormatTimeForFileName(int64_t ns) {
  std::string s;
  AppendParts(ns, 'T', '-', &s);
  return s;
}

std::optional<int64_t> ParseTime(std::string_view s) {
  size_t p = 0;
  unsigned y, mo, d, h, mi, se;
  if (!Digits(s, &p, 4, &y) || p >= s.size() || s[p++] != '-' || !Digits(s, &p, 2, &mo) || p >= s.size() ||
      s[p++] != '-' || !Digits(s, &p, 2, &d) || p >= s.size()) {
    return std::nullopt;
  }
  char sep = s[p++];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  if (!Digits(s, &p, 2, &h) || p >= s.size() || s[p++] != ':' || !Digits(s, &p, 2, &mi) || p >= s.size() ||
      s[p++] != ':' || !Digits(s, &p, 2, &se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || se > 60) return std::nullopt;
  int64_t frac = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int n = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (n < 9) {
        frac = frac * 10 + (s[p] - '0');
        ++n;
      }
      ++p;
    }
    if (n == 0) return std::nullopt;
    for (int i = n; i < 9; ++i) frac *= 10;
  }
  if (p >= s.size()) return std::nullopt;
  int64_t offset = 0;
  if (s[p] == 'Z' || s[p] == 'z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    int sign = s[p] == '+' ? 1 : -1;
    ++p;
    unsigned oh, om;
    if (!Digits(s, &p, 2, &oh) || p >= s.size() || s[p++] != ':' || !Digits(s, &p, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = sign * static_cast<int64_t>(oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (p != s.size()) return std::nullopt;
  int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
  // Nanoseconds since the epoch in 64 bits reach from 1677 to 2262: later or earlier times
  // are not times a flow log holds (found by tests/fuzz/flow_record_fuzz: year 5974).
  int64_t ns;
  if (__builtin_mul_overflow(secs, kNsPerSecond, &ns) || __builtin_add_overflow(ns, frac, &ns)) return std::nullopt;
  return ns;
}

std::optional<int64_t> ParseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t p = 0;
  while (p < s.size()) {
    size_t start = p;
    while (p < s.size() && (std::isdigit(static_cast<unsigned char>(s[p])) || s[p] == '.')) ++p;
    if (p == start) return std::nullopt;
    double v = 0;
    auto [end, ec] = std::from_chars(s.data() + start, s.data() + p, v);
    if (ec != std::errc() || end != s.data() + p) return std::nullopt;
    size_t ustart = p;
    while (p < s.size() && std::isalpha(static_cast<unsigned char>(s[p]))) ++p;
    std::string_view unit = s.substr(ustart, p - ustart);
    double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1e6;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "h")
      mult = 3600e9;
    else if (unit == "d")
      mult = 86400e9;
    else
      return std::nullopt;
    total += v * mult;
  }
  if (total <= 0 || total > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(total);
}

}  // namespace netfence::flowlog
