// SPDX-License-Identifier: Apache-2.0
// Turns ipBlocks (cidr minus excepts) of many rules into one longest-prefix-match table:
// every prefix that appears (as a cidr or an except) gets the set of rules matching the
// addresses whose longest listed prefix it is. One LPM lookup then answers exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/ip.h"
#include "controlplane/compiler/rows.h"

namespace netfence::compiler {

struct CidrBlock {
  IpPrefix cidr;
  std::vector<IpPrefix> except;  // each strictly inside cidr
  uint32_t rule_bit = 0;
};

struct FlatPrefix {
  IpPrefix prefix;
  Bits rules;
};

// `rule_count` is the width of the rows. The result is sorted by (address, length);
// prefixes whose rule set is empty are kept (they are the "except" holes).
std::vector<FlatPrefix> FlattenCidrs(const std::vector<CidrBlock>& blocks, uint32_t rule_count);

// An IPv6 block that covers the v4-mapped range (::ffff:0:0/96) must not match IPv4
// addresses, which netfence stores v4-mapped: this adds that range as an except.
void ExcludeV4Mapped(CidrBlock* block);

}  // namespace netfence::compiler
