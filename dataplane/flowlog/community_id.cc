// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/community_id.h"

#include <openssl/evp.h>

#include <cstring>

namespace netfence::flowlog {

namespace {

constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmp6 = 58, kSctp = 132;

// The ICMP counterpart type, or -1 when the type is one-way (pycommunityid icmp.py/icmp6.py,
// which mirror Zeek's ICMP4_counterpart / ICMP6_counterpart).
int IcmpCounterpart(uint8_t t) {
  switch (t) {
    case 8:
      return 0;  // echo -> echo reply
    case 0:
      return 8;
    case 13:
      return 14;  // timestamp
    case 14:
      return 13;
    case 15:
      return 16;  // information
    case 16:
      return 15;
    case 10:
      return 9;  // router solicitation -> advertisement
    case 9:
      return 10;
    case 17:
      return 18;  // address mask
    case 18:
      return 17;
    default:
      return -1;
  }
}
int Icmp6Counterpart(uint8_t t) {
  switch (t) {
    case 128:
      return 129;  // echo request -> reply
    case 129:
      return 128;
    case 130:
      return 131;  // MLD listener query -> report
    case 131:
      return 130;
    case 133:
      return 134;  // router solicitation -> advertisement
    case 134:
      return 133;
    case 135:
      return 136;  // neighbour solicitation -> advertisement
    case 136:
      return 135;
    case 139:
      return 140;  // node information ("who are you") query -> reply
    case 140:
      return 139;
    case 144:
      return 145;  // home agent address discovery request -> reply
    case 145:
      return 144;
    default:
      return -1;
  }
}

void Base64(const uint8_t* data, size_t n, std::string* out) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->append("==");
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out->push_back(kAlphabet[(v >> 18) & 63]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back('=');
  }
}

}  // namespace

void IcmpPortEquivalents(bool v6, uint8_t type, uint8_t code, uint16_t* sport, uint16_t* dport, bool* one_way) {
  int counter = v6 ? Icmp6Counterpart(type) : IcmpCounterpart(type);
  *sport = type;
  *one_way = counter < 0;
  *dport = counter < 0 ? code : static_cast<uint16_t>(counter);
}

std::string CommunityId(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport, uint16_t dport,
                        uint16_t seed) {
  const bool v4 = src.is_v4();
  if (v4 != dst.is_v4()) return "";
  const size_t alen = v4 ? 4 : 16;
  const uint8_t* sa = src.bytes.data() + (16 - alen);
  const uint8_t* da = dst.bytes.data() + (16 - alen);

  bool has_ports = proto == kTcp || proto == kUdp || proto == kSctp || proto == kIcmp || proto == kIcmp6;
  bool one_way = false;
  if (proto == kIcmp || proto == kIcmp6) {
    IcmpPortEquivalents(proto == kIcmp6, static_cast<uint8_t>(sport), static_cast<uint8_t>(dport), &sport, &dport,
                        &one_way);
  }
  // Order the endpoints: the smaller (address, port) first, unless the flow is one-way.
  if (!one_way) {
    int c = std::memcmp(sa, da, alen);
    if (c > 0 || (c == 0 && has_ports && sport > dport)) {
      std::swap(sa, da);
      std::swap(sport, dport);
    }
  }

  uint8_t buf[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  buf[n++] = static_cast<uint8_t>(seed >> 8);
  buf[n++] = static_cast<uint8_t>(seed);
  std::memcpy(buf + n, sa, alen);
  n += alen;
  std::memcpy(buf + n, da, alen);
  n += alen;
  buf[n++] = proto;
  buf[n++] = 0;
  if (has_ports) {
    buf[n++] = static_cast<uint8_t>(sport >> 8);
    buf[n++] = static_cast<uint8_t>(sport);
    buf[n++] = static_cast<uint8_t>(dport >> 8);
    buf[n++] = static_cast<uint8_t>(dport);
  }
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (EVP_Digest(buf, n, digest, &dlen, EVP_sha1(), nullptr) != 1 || dlen != 20) return "";
  std::string out;
  out.reserve(30);
  out.append("1:");
  Base64(digest, dlen, &out);
  return out;
}

}  // namespace netfence::flowlog
