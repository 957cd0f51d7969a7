// SPDX-License-Identifier: Apache-2.0
#include "common/base/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace netfence {

namespace {
constexpr std::array<uint8_t, 12> kV4Mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

uint64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
void store_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
}  // namespace

std::optional<IpAddr> IpAddr::Parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr a;
  if (text.find(':') == std::string_view::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    std::memcpy(a.bytes.data(), kV4Mapped.data(), 12);
    std::memcpy(a.bytes.data() + 12, &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

IpAddr IpAddr::V4(uint32_t host_order) {
  IpAddr a;
  std::memcpy(a.bytes.data(), kV4Mapped.data(), 12);
  a.bytes[12] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[13] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[14] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[15] = static_cast<uint8_t>(host_order);
  return a;
}

bool IpAddr::is_v4() const { return std::memcmp(bytes.data(), kV4Mapped.data(), 12) == 0; }

uint32_t IpAddr::v4() const {
  return (uint32_t{bytes[12]} << 24) | (uint32_t{bytes[13]} << 16) | (uint32_t{bytes[14]} << 8) | bytes[15];
}

uint64_t IpAddr::hi() const { return load_be64(bytes.data()); }
uint64_t IpAddr::lo() const { return load_be64(bytes.data() + 8); }

IpAddr IpAddr::FromHalves(uint64_t hi, uint64_t lo) {
  IpAddr a;
  store_be64(a.bytes.data(), hi);
  store_be64(a.bytes.data() + 8, lo);
  return a;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

namespace {
// Mask of the top `len` bits of a 64-bit half that starts at bit `offset` of the address.
uint64_t half_mask(int len, int offset) {
  int bits = len - offset;
  if (bits <= 0) return 0;
  if (bits >= 64) return ~uint64_t{0};
  return ~uint64_t{0} << (64 - bits);
}
}  // namespace

std::optional<IpPrefix> IpPrefix::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = IpAddr::Parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  auto len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3) return std::nullopt;
  if (len_text.size() > 1 && len_text[0] == '0') return std::nullopt;
  int len = 0;
  auto [p, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || p != len_text.data() + len_text.size()) return std::nullopt;
  bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  if (len < 0 || len > (v4 ? 32 : 128)) return std::nullopt;
  IpPrefix out;
  out.len = static_cast<uint8_t>(v4 ? len + 96 : len);
  out.addr = IpAddr::FromHalves(addr->hi() & half_mask(out.len, 0), addr->lo() & half_mask(out.len, 64));
  return out;
}

bool IpPrefix::contains(const IpAddr& a) const {
  return (a.hi() & half_mask(len, 0)) == addr.hi() && (a.lo() & half_mask(len, 64)) == addr.lo();
}

IpAddr IpPrefix::last() const {
  return IpAddr::FromHalves(addr.hi() | ~half_mask(len, 0), addr.lo() | ~half_mask(len, 64));
}

std::string IpPrefix::str() const { return addr.str() + "/" + std::to_string(family_len()); }

}  // namespace netfence
