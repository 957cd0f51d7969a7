// SPDX-License-Identifier: Apache-2.0
// Community ID v1 (corelight/community-id-spec): a string naming a flow the same way in our
// flow log, Zeek, Suricata, Wireshark/tshark, Elastic (network.community_id) and Arkime, so
// an investigator joins them by string equality.
//
//   "1:" + base64(sha1(seed(2 bytes BE) . saddr . daddr . proto(1) . 0x00 . sport(2 BE) . dport(2 BE)))
//
// - The endpoints are ordered so the smaller (address, port) comes first, so both directions
//   of a connection get the same ID. IPv4 addresses are hashed as 4 bytes, IPv6 as 16.
// - TCP, UDP and SCTP hash their ports. ICMP and ICMPv6 pass the message type as `sport` and
//   the code as `dport`: request/reply types are mapped to a port pair the way Zeek does
//   (echo 8 <-> 0, ...; ICMPv6 echo 128 <-> 129, neighbour/router discovery, MLD, ...), so a
//   request and its reply share an ID. Other types (errors, ...) are one-way: (type, code),
//   never reordered.
// - Every other protocol hashes no ports.
//
//   CommunityId(src, dst, 6, 34567, 80)        // TCP
//   CommunityId(src, dst, 1, 8, 0)             // ICMP echo request (type 8, code 0)
//
// For an ICMP echo flow of the XDP program (whose events carry the echo id as both ports),
// the initiator sent the request: pass type 8 (ICMPv6: 128) and code 0.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/ip.h"

namespace netfence::flowlog {

// Returns "" when the two addresses are not of one family (the spec allows an empty ID for
// tuples it does not cover). IpAddr keeps IPv4 v4-mapped; such addresses hash as IPv4.
std::string CommunityId(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport, uint16_t dport,
                        uint16_t seed = 0);

// The Zeek mapping of an ICMP (v6 = false) or ICMPv6 type/code to a port pair; *one_way is
// set when no counterpart type exists (then the pair is (type, code)).
void IcmpPortEquivalents(bool v6, uint8_t type, uint8_t code, uint16_t* sport, uint16_t* dport, bool* one_way);

}  // namespace netfence::flowlog
