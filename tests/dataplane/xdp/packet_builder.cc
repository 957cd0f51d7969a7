// SPDX-License-Identifier: Apache-2.0
#include "tests/dataplane/xdp/packet_builder.h"

#include "tests/testing/policy_fixture.h"

#include <algorithm>
#include <utility>

namespace netfence::xdptest {

namespace {

void Put16(std::vector<uint8_t>* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>* b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
void Set16(std::vector<uint8_t>* b, size_t at, uint16_t v) {
  (*b)[at] = static_cast<uint8_t>(v >> 8);
  (*b)[at + 1] = static_cast<uint8_t>(v);
}

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

PacketBuilder& PacketBuilder::Vlan(uint16_t vid, uint16_t tpid) {
  vlans_.emplace_back(tpid, vid);
  return *this;
}
PacketBuilder& PacketBuilder::EtherType(uint16_t type) {
  family_ = 0;
  ether_type_ = type;
  return *this;
}
PacketBuilder& PacketBuilder::Ipv4(const IpAddr& src, const IpAddr& dst) {
  family_ = 4;
  src_ = src;
  dst_ = dst;
  return *this;
}
PacketBuilder& PacketBuilder::Ipv4Options(int words) {
  ip4_option_words_ = words;
  return *this;
}
PacketBuilder& PacketBuilder::Ipv4Fragment(uint16_t offset8, bool more_fragments) {
  frag_offset8_ = offset8;
  more_fragments_ = more_fragments;
  return *this;
}
PacketBuilder& PacketBuilder::Ipv4Id(uint16_t id) {
  ip4_id_ = id;
  return *this;
}
PacketBuilder& PacketBuilder::Ipv6(const IpAddr& src, const IpAddr& dst) {
  family_ = 6;
  src_ = src;
  dst_ = dst;
  return *this;
}
PacketBuilder& PacketBuilder::Ipv6Ext(uint8_t type, uint16_t frag_offset8) {
  ext_.emplace_back(type, frag_offset8);
  return *this;
}
PacketBuilder& PacketBuilder::Ip(const IpAddr& src, const IpAddr& dst) {
  return src.is_v4() ? Ipv4(src, dst) : Ipv6(src, dst);
}
PacketBuilder& PacketBuilder::Tcp(uint16_t dport, uint16_t sport) {
  sport_ = sport;
  return Proto(6, dport);
}
PacketBuilder& PacketBuilder::Udp(uint16_t dport, uint16_t sport) {
  sport_ = sport;
  return Proto(17, dport);
}
PacketBuilder& PacketBuilder::Sctp(uint16_t dport, uint16_t sport) {
  sport_ = sport;
  return Proto(132, dport);
}
PacketBuilder& PacketBuilder::Icmp() { return Proto(family_ == 6 ? 58 : 1); }
PacketBuilder& PacketBuilder::Proto(uint8_t proto, uint16_t dport) {
  proto_ = proto;
  dport_ = dport;
  return *this;
}
PacketBuilder& PacketBuilder::TcpFlags(uint8_t flags) {
  tcp_flags_ = flags;
  return *this;
}
PacketBuilder& PacketBuilder::IcmpMessage(uint8_t type, uint16_t id, std::vector<uint8_t> quoted) {
  proto_ = family_ == 6 ? 58 : 1;
  icmp_type_ = type;
  icmp_id_ = id;
  quoted_ = std::move(quoted);
  return *this;
}
PacketBuilder& PacketBuilder::Payload(size_t bytes) {
  payload_ = bytes;
  return *this;
}
PacketBuilder& PacketBuilder::TruncateL4(size_t bytes) {
  l4_keep_ = bytes;
  return *this;
}

std::vector<uint8_t> PacketBuilder::L4Header() const {
  std::vector<uint8_t> h;
  switch (proto_) {
    case 6:  // TCP: ports, seq, ack, doff 5, SYN, window, checksum, urgent
      Put16(&h, sport_), Put16(&h, dport_), Put32(&h, 1), Put32(&h, 0);
      h.push_back(5 << 4), h.push_back(tcp_flags_), Put16(&h, 0xFFFF), Put32(&h, 0);
      break;
    case 17:  // UDP: ports, length, checksum
      Put16(&h, sport_), Put16(&h, dport_), Put16(&h, static_cast<uint16_t>(8 + payload_)), Put16(&h, 0);
      break;
    case 132:  // SCTP common header: ports, verification tag, checksum
      Put16(&h, sport_), Put16(&h, dport_), Put32(&h, 0), Put32(&h, 0);
      break;
    case 1:
    case 58:  // echo request: type, code, checksum, id, sequence
      h.push_back(icmp_type_ >= 0 ? static_cast<uint8_t>(icmp_type_) : proto_ == 1 ? 8 : 128), h.push_back(0);
      Put16(&h, 0);
      if (quoted_.empty()) {
        Put16(&h, icmp_id_), Put16(&h, 1);
      } else {
        Put32(&h, 0);
        h.insert(h.end(), quoted_.begin(), quoted_.end());
      }
      break;
    default:
      h.assign(8, 0);
  }
  h.resize(std::min(h.size(), l4_keep_));
  h.resize(h.size() + payload_, 0xAB);
  return h;
}

std::vector<uint8_t> PacketBuilder::Build() {
  std::vector<uint8_t> b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (const auto& [tpid, vid] : vlans_) Put16(&b, tpid), Put16(&b, vid);
  Put16(&b, family_ == 4 ? 0x0800 : family_ == 6 ? 0x86DD : ether_type_);
  l3_ = b.size();
  if (family_ == 0) {
    b.resize(b.size() + 46, 0);  // minimum frame
    l4_ = b.size();
    return b;
  }
  const std::vector<uint8_t> l4 = L4Header();
  if (family_ == 4) {
    const size_t hlen = 20 + 4 * static_cast<size_t>(ip4_option_words_);
    b.push_back(static_cast<uint8_t>(0x40 | ((hlen / 4) & 0x0F))), b.push_back(0);
    Put16(&b, static_cast<uint16_t>(hlen + l4.size())), Put16(&b, ip4_id_);
    const bool fragment = frag_offset8_ != 0 || more_fragments_;
    Put16(&b, fragment ? static_cast<uint16_t>((more_fragments_ ? 0x2000 : 0) | (frag_offset8_ & 0x1FFF)) : 0x4000);
    b.push_back(64), b.push_back(proto_), Put16(&b, 0);
    b.insert(b.end(), src_.bytes.begin() + 12, src_.bytes.end());
    b.insert(b.end(), dst_.bytes.begin() + 12, dst_.bytes.end());
    b.resize(l3_ + hlen, 0x01);  // NOP options
    Set16(&b, l3_ + 10, Checksum(b.data() + l3_, hlen));
  } else {
    std::vector<uint8_t> ext;
    for (size_t i = 0; i < ext_.size(); ++i) {
      const uint8_t next = i + 1 < ext_.size() ? ext_[i + 1].first : proto_;
      const auto [type, offset8] = ext_[i];
      if (type == 44) {  // fragment: next, reserved, offset << 3 | M, identification
        ext.push_back(next), ext.push_back(0), Put16(&ext, static_cast<uint16_t>(offset8 << 3 | 1)), Put32(&ext, 99);
      } else if (type == 51) {  // AH: length (2 + 2) * 4 = 16 bytes
        ext.push_back(next), ext.push_back(2), Put16(&ext, 0), Put32(&ext, 1), Put32(&ext, 1), Put32(&ext, 0);
      } else {  // options / routing / mobility: 8 bytes, a PadN option
        ext.push_back(next), ext.push_back(0), ext.push_back(1), ext.push_back(4), Put32(&ext, 0);
      }
    }
    Put32(&b, 0x60000000), Put16(&b, static_cast<uint16_t>(ext.size() + l4.size()));
    b.push_back(ext_.empty() ? proto_ : ext_[0].first), b.push_back(64);
    b.insert(b.end(), src_.bytes.begin(), src_.bytes.end());
    b.insert(b.end(), dst_.bytes.begin(), dst_.bytes.end());
    b.insert(b.end(), ext.begin(), ext.end());
  }
  l4_ = b.size();
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

std::vector<uint8_t> ArpFrame(const IpAddr& sender, int vlan) {
  PacketBuilder b;
  if (vlan >= 0) b.Vlan(static_cast<uint16_t>(vlan));
  std::vector<uint8_t> p = b.EtherType(0x0806).Build();
  p.resize(vlan >= 0 ? 18 : 14);  // the builder pads a non-IP frame: the message replaces the padding
  const uint8_t head[] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 7};  // Ethernet, IPv4, 6, 4, request, sender MAC
  p.insert(p.end(), std::begin(head), std::end(head));
  p.insert(p.end(), sender.bytes.begin() + 12, sender.bytes.end());  // sender IPv4 address
  p.insert(p.end(), 10, 0);                                          // target MAC and IPv4 address
  if (p.size() < 60) p.resize(60, 0);                                // minimum frame
  return p;
}

std::vector<uint8_t> RandomEncapsulation(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t dport,
                                         std::mt19937_64& rng) {
  PacketBuilder b;
  const uint32_t r = static_cast<uint32_t>(rng());
  if (r % 10 < 3) b.Vlan(static_cast<uint16_t>(r % 4095 + 1), r % 10 == 0 ? 0x88A8 : 0x8100);
  if (r % 10 == 0) b.Vlan(static_cast<uint16_t>((r >> 12) % 4095 + 1));
  b.Ip(src, dst);
  if ((r >> 4) % 5 == 0) {
    if (src.is_v4()) {
      b.Ipv4Options(static_cast<int>((r >> 8) % 10 + 1));
    } else {
      static const uint8_t kExt[] = {0, 43, 44, 51, 60};
      for (uint32_t n = (r >> 8) % 3 + 1, k = r >> 16; n > 0; --n, k /= 5) b.Ipv6Ext(kExt[k % 5]);
    }
  }
  b.Proto(proto, dport).Payload((r >> 24) % 3 == 0 ? (r >> 26) % 64 : 0);
  return b.Build();
}

std::string ParseTestClusterYaml() {
  using testing::PodYaml;
  using testing::PolicyYaml;
  std::string y = PodYaml("default", "server4", "app: server", "10.0.0.1") +
                  PodYaml("default", "server6", "app: server", "fd00::1") +
                  PodYaml("default", "client4", "app: client", "10.0.0.2") +
                  PodYaml("default", "client6", "app: client", "fd00::2") +
                  PodYaml("default", "admin4", "app: admin", "10.0.0.3") +
                  PodYaml("default", "admin6", "app: admin", "fd00::3");
  y += PolicyYaml("default", "servers",
                  "  podSelector: {matchLabels: {app: server}}\n"
                  "  policyTypes: [Ingress]\n"
                  "  ingress:\n"
                  "  - from: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: \"::/0\"}}, {namespaceSelector: {}}]\n"
                  "    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 53}, {protocol: SCTP, port: 9090}]\n"
                  "  - from: [{podSelector: {matchLabels: {app: admin}}}]\n");
  return y;
}

}  // namespace netfence::xdptest
