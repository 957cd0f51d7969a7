// SPDX-License-Identifier: Apache-2.0
// SCTP INIT / INIT-ACK packets (RFC 4960 sections 3 and 3.3.2-3.3.3), built and parsed in
// software: this kernel has no SCTP module, so the probes speak SCTP over raw IP sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace netfence::nettest {

inline constexpr int kIpProtoSctp = 132;
inline constexpr uint8_t kSctpInit = 1;
inline constexpr uint8_t kSctpInitAck = 2;

// CRC32c (Castagnoli, reflected, as RFC 4960 appendix B): Crc32c("123456789") == 0xE3069283. The
// SCTP checksum field holds it least significant byte first.
uint32_t Crc32c(std::span<const uint8_t> data);

// One SCTP packet whose first chunk is an INIT or an INIT-ACK.
struct SctpPacket {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t vtag = 0;  // common header: 0 in an INIT, the peer's initiate tag in an INIT-ACK
  uint8_t chunk = kSctpInit;
  uint32_t initiate_tag = 0;
  uint32_t a_rwnd = 65536;
  uint16_t out_streams = 10;
  uint16_t in_streams = 10;
  uint32_t initial_tsn = 0;
  std::vector<uint8_t> cookie;  // INIT-ACK only: the State Cookie parameter (type 7)
};

// The packet's bytes (common header and one chunk) with a valid checksum.
std::vector<uint8_t> BuildSctp(const SctpPacket& packet);
// The packet, if `bytes` is SCTP with a valid checksum whose first chunk is a well-formed INIT or
// INIT-ACK; nullopt otherwise.
std::optional<SctpPacket> ParseSctp(std::span<const uint8_t> bytes);
// What an IPv4 raw socket reads: the IP header, then the payload. Returns the payload of an SCTP
// packet, or nullopt when it is not one.
std::optional<std::span<const uint8_t>> Ipv4Payload(std::span<const uint8_t> datagram);

// ProbeServer's State Cookie: "NFCK" and the INIT's initial TSN, so a client can tell which of
// its INITs an INIT-ACK answers.
std::vector<uint8_t> ResponderCookie(uint32_t init_tsn);

}  // namespace netfence::nettest
