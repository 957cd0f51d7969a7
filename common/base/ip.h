// SPDX-License-Identifier: Apache-2.0
// IP addresses and prefixes, IPv4 and IPv6 in one 128-bit form.
// IPv4 is stored v4-mapped (::ffff:a.b.c.d), so one ordering and one LPM cover both families.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netfence {

struct IpAddr {
  std::array<uint8_t, 16> bytes{};  // network byte order, v4-mapped for IPv4

  static std::optional<IpAddr> Parse(std::string_view text);
  static IpAddr V4(uint32_t host_order);
  bool is_v4() const;
  uint32_t v4() const;  // host order; only when is_v4()
  std::string str() const;

  // The 128-bit value as two host-order halves, for arithmetic and hashing.
  uint64_t hi() const;
  uint64_t lo() const;
  static IpAddr FromHalves(uint64_t hi, uint64_t lo);

  auto operator<=>(const IpAddr&) const = default;
};

// A prefix in the 128-bit space; `len` counts bits of the 128-bit form, so an IPv4 /24
// is stored with len 96+24. Host bits are always zero.
struct IpPrefix {
  IpAddr addr;
  uint8_t len = 0;

  // Parses "a.b.c.d/n" or "x::y/n". Host bits are cleared, the way the API server long
  // accepted "10.0.0.1/4" as 0.0.0.0/4. Returns nullopt on any syntax error.
  static std::optional<IpPrefix> Parse(std::string_view text);
  static IpPrefix Host(const IpAddr& a) { return IpPrefix{a, 128}; }
  bool is_v4() const { return len >= 96 && addr.is_v4(); }
  int family_len() const { return is_v4() ? len - 96 : len; }  // the length as written
  bool contains(const IpAddr& a) const;
  bool contains(const IpPrefix& p) const { return p.len >= len && contains(p.addr); }
  IpAddr last() const;  // highest address inside
  std::string str() const;

  auto operator<=>(const IpPrefix&) const = default;
};

}  // namespace netfence
