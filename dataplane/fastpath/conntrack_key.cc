// SPDX-License-Identifier: Apache-2.0
#include "dataplane/fastpath/conntrack_key.h"

#include <cstring>

namespace netfence::fastpath {

nf_ct_key ConntrackKey(const IpAddr& src, uint16_t sport, const IpAddr& dst, uint16_t dport, uint8_t proto,
                       bool* sender_is_b) {
  // The program compares the addresses as four native-endian 32-bit words, then the ports.
  auto less_or_equal = [&]() {
    for (size_t i = 0; i < 16; i += 4) {
      uint32_t a, b;
      std::memcpy(&a, src.bytes.data() + i, 4);
      std::memcpy(&b, dst.bytes.data() + i, 4);
      if (a != b) return a < b;
    }
    return sport <= dport;
  };
  const bool b = !less_or_equal();
  nf_ct_key k{};
  std::memcpy(k.addr_a, (b ? dst : src).bytes.data(), 16);
  std::memcpy(k.addr_b, (b ? src : dst).bytes.data(), 16);
  k.port_a = b ? dport : sport;
  k.port_b = b ? sport : dport;
  k.proto = proto;
  if (sender_is_b) *sender_is_b = b;
  return k;
}

}  // namespace netfence::fastpath
