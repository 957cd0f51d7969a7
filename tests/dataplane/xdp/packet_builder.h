// SPDX-License-Identifier: Apache-2.0
// Katran-style packet builder for BPF_PROG_TEST_RUN: Ethernet, 802.1Q/802.1ad tags, IPv4
// (options, fragments), IPv6 (extension headers), TCP/UDP/SCTP/ICMP/ICMPv6 or any other
// protocol, with lengths and the IPv4 header checksum filled in. Malformed packets are made
// by building a good one and editing bytes at l3_offset()/l4_offset().
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/base/ip.h"

namespace netfence::xdptest {

class PacketBuilder {
 public:
  PacketBuilder& Vlan(uint16_t vid, uint16_t tpid = 0x8100);
  PacketBuilder& EtherType(uint16_t type);  // a non-IP frame (ARP, LLDP...): raw type, no L3
  PacketBuilder& Ipv4(const IpAddr& src, const IpAddr& dst);
  PacketBuilder& Ipv4Options(int words);  // IHL = 5 + words, NOP-filled
  PacketBuilder& Ipv4Fragment(uint16_t offset8, bool more_fragments);
  PacketBuilder& Ipv4Id(uint16_t id);  // the datagram's identification (default 0x1234)
  PacketBuilder& Ipv6(const IpAddr& src, const IpAddr& dst);
  // Appends an IPv6 extension header (0 hop-by-hop, 43 routing, 44 fragment, 51 AH,
  // 60 destination options, 135 mobility); for a fragment header, its offset in 8 bytes.
  PacketBuilder& Ipv6Ext(uint8_t type, uint16_t frag_offset8 = 0);
  // Either family: IPv4 for v4-mapped addresses, else IPv6.
  PacketBuilder& Ip(const IpAddr& src, const IpAddr& dst);

  PacketBuilder& Tcp(uint16_t dport, uint16_t sport = 40000);
  PacketBuilder& Udp(uint16_t dport, uint16_t sport = 40000);
  PacketBuilder& Sctp(uint16_t dport, uint16_t sport = 40000);
  PacketBuilder& Icmp();                   // echo request, ICMP or ICMPv6 by family
  PacketBuilder& TcpFlags(uint8_t flags);  // default SYN (0x02)
  // ICMP/ICMPv6 message `type` (default: echo request) with echo id `id`; with `quoted`, an
  // error message quoting those bytes (an IP header and 8 bytes of L4) after 4 unused bytes.
  PacketBuilder& IcmpMessage(uint8_t type, uint16_t id = 7, std::vector<uint8_t> quoted = {});
  PacketBuilder& Proto(uint8_t proto, uint16_t dport = 0);  // by number; ports for 6/17/132
  PacketBuilder& Payload(size_t bytes);
  // Keeps only the first `bytes` of the L4 header (lengths stay consistent: a short L4).
  PacketBuilder& TruncateL4(size_t bytes);

  std::vector<uint8_t> Build();
  size_t l3_offset() const { return l3_; }  // valid after Build()
  size_t l4_offset() const { return l4_; }

 private:
  std::vector<uint8_t> L4Header() const;
  std::vector<std::pair<uint16_t, uint16_t>> vlans_;  // (tpid, vid)
  int family_ = 0;                                    // 0 none, 4, 6
  uint16_t ether_type_ = 0;
  IpAddr src_, dst_;
  int ip4_option_words_ = 0;
  uint16_t frag_offset8_ = 0;
  uint16_t ip4_id_ = 0x1234;
  bool more_fragments_ = false;
  std::vector<std::pair<uint8_t, uint16_t>> ext_;  // (type, fragment offset)
  uint8_t proto_ = 6;
  uint16_t sport_ = 40000, dport_ = 0;
  size_t payload_ = 0;
  uint8_t tcp_flags_ = 0x02;
  int icmp_type_ = -1;
  uint16_t icmp_id_ = 7;
  std::vector<uint8_t> quoted_;
  size_t l4_keep_ = SIZE_MAX;
  size_t l3_ = 0, l4_ = 0;
};

// A frame of (src, dst, proto, dport) in a random encapsulation the parser must see through:
// up to two VLAN tags (802.1Q or 802.1ad), IPv4 options or IPv6 extension headers, a payload.
// The differential tests of XDP and DPDK send the same packets this way.
std::vector<uint8_t> RandomEncapsulation(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t dport,
                                         std::mt19937_64& rng);

// The cluster the parse tests of XDP and DPDK decide against: servers (app=server) take
// TCP/80, UDP/53 and SCTP/9090 from anywhere and everything from app=admin pods; clients are
// not isolated. Pods server4/6 (10.0.0.1, fd00::1), client4/6 (.2, ::2), admin4/6 (.3, ::3).
std::string ParseTestClusterYaml();

// An ARP request for IPv4 over Ethernet from `sender` (its protocol address), behind a VLAN
// tag when `vlan` >= 0, padded to the minimum frame.
std::vector<uint8_t> ArpFrame(const IpAddr& sender, int vlan = -1);

}  // namespace netfence::xdptest
