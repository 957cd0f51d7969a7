// SPDX-License-Identifier: Apache-2.0
// SCTP INIT / INIT-ACK encoding and decoding with a table-driven software CRC32c.
#include "tests/testing/sctp_packet.h"

#include <array>

namespace netfence::nettest {
namespace {

constexpr size_t kCommonHeader = 12;
constexpr size_t kInitChunk = 20;  // type, flags, length, tag, a_rwnd, streams, TSN
constexpr uint16_t kStateCookieParam = 7;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected 0x1EDC6F41
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

void Put16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
uint16_t Get16(std::span<const uint8_t> b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t Get32(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint32_t>(Get16(b, at)) << 16 | Get16(b, at + 2);
}
size_t Pad4(size_t n) { return (n + 3) & ~size_t{3}; }

}  // namespace

uint32_t Crc32c(std::span<const uint8_t> data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t byte : data) crc = kCrcTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::vector<uint8_t> BuildSctp(const SctpPacket& p) {
  std::vector<uint8_t> out;
  Put16(&out, p.src_port);
  Put16(&out, p.dst_port);
  Put32(&out, p.vtag);
  Put32(&out, 0);  // checksum, filled in below
  const size_t chunk_start = out.size();
  out.push_back(p.chunk);
  out.push_back(0);  // flags
  Put16(&out, 0);    // length, filled in below
  Put32(&out, p.initiate_tag);
  Put32(&out, p.a_rwnd);
  Put16(&out, p.out_streams);
  Put16(&out, p.in_streams);
  Put32(&out, p.initial_tsn);
  if (p.chunk == kSctpInitAck) {
    Put16(&out, kStateCookieParam);
    Put16(&out, static_cast<uint16_t>(4 + p.cookie.size()));
    out.insert(out.end(), p.cookie.begin(), p.cookie.end());
  }
  const size_t chunk_len = out.size() - chunk_start;  // the length excludes the final padding
  out[chunk_start + 2] = static_cast<uint8_t>(chunk_len >> 8);
  out[chunk_start + 3] = static_cast<uint8_t>(chunk_len);
  out.resize(chunk_start + Pad4(chunk_len), 0);
  const uint32_t crc = Crc32c(out);
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
  return out;
}

std::optional<SctpPacket> ParseSctp(std::span<const uint8_t> b) {
  if (b.size() < kCommonHeader + kInitChunk) return std::nullopt;
  const uint32_t stored = b[8] | b[9] << 8 | b[10] << 16 | static_cast<uint32_t>(b[11]) << 24;
  std::vector<uint8_t> zeroed(b.begin(), b.end());
  for (int i = 8; i < 12; ++i) zeroed[i] = 0;
  if (Crc32c(zeroed) != stored) return std::nullopt;

  SctpPacket p;
  p.src_port = Get16(b, 0);
  p.dst_port = Get16(b, 2);
  p.vtag = Get32(b, 4);
  const size_t c = kCommonHeader;
  p.chunk = b[c];
  const size_t chunk_len = Get16(b, c + 2);
  if ((p.chunk != kSctpInit && p.chunk != kSctpInitAck) || chunk_len < kInitChunk || c + chunk_len > b.size()) {
    return std::nullopt;
  }
  p.initiate_tag = Get32(b, c + 4);
  p.a_rwnd = Get32(b, c + 8);
  p.out_streams = Get16(b, c + 12);
  p.in_streams = Get16(b, c + 14);
  p.initial_tsn = Get32(b, c + 16);
  if (p.initiate_tag == 0) return std::nullopt;  // RFC 4960 3.3.2: never zero
  // Optional / variable-length parameters.
  for (size_t at = c + kInitChunk; at + 4 <= c + chunk_len;) {
    const uint16_t type = Get16(b, at);
    const size_t len = Get16(b, at + 2);
    if (len < 4 || at + len > c + chunk_len) return std::nullopt;
    if (type == kStateCookieParam) p.cookie.assign(b.begin() + at + 4, b.begin() + at + len);
    at += Pad4(len);
  }
  return p;
}

std::optional<std::span<const uint8_t>> Ipv4Payload(std::span<const uint8_t> d) {
  if (d.size() < 20 || (d[0] >> 4) != 4 || d[9] != kIpProtoSctp) return std::nullopt;
  const size_t ihl = static_cast<size_t>(d[0] & 0x0F) * 4;
  const size_t total = Get16(d, 2);
  if (ihl < 20 || total < ihl || total > d.size()) return std::nullopt;
  return d.subspan(ihl, total - ihl);
}

std::vector<uint8_t> ResponderCookie(uint32_t init_tsn) {
  std::vector<uint8_t> cookie = {'N', 'F', 'C', 'K'};
  Put32(&cookie, init_tsn);
  return cookie;
}

}  // namespace netfence::nettest
