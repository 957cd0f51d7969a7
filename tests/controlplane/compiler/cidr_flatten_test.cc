// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/cidr_flatten.h"

#include <gtest/gtest.h>

namespace netfence::compiler {
namespace {

IpPrefix P(const char* s) { return *IpPrefix::Parse(s); }

// The rule bits the flattened table gives an address: those of its longest listed prefix.
std::vector<uint32_t> Lookup(const std::vector<FlatPrefix>& flat, const char* ip, uint32_t nbits) {
  auto a = *IpAddr::Parse(ip);
  const FlatPrefix* best = nullptr;
  for (const auto& f : flat) {
    if (f.prefix.contains(a) && (!best || f.prefix.len > best->prefix.len)) best = &f;
  }
  std::vector<uint32_t> out;
  if (!best) return out;
  for (uint32_t b = 0; b < nbits; ++b) {
    if (best->rules.data()[b / 64] >> (b % 64) & 1) out.push_back(b);
  }
  return out;
}

TEST(CidrFlatten, ExceptPunchesAHoleOnlyInItsOwnBlock) {
  std::vector<CidrBlock> blocks = {
      {P("10.0.0.0/8"), {P("10.1.0.0/16")}, 0},
      {P("10.0.0.0/8"), {}, 1},
      {P("10.1.2.0/24"), {}, 2},
  };
  auto flat = FlattenCidrs(blocks, 3);
  EXPECT_EQ(Lookup(flat, "10.9.9.9", 3), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(Lookup(flat, "10.1.9.9", 3), (std::vector<uint32_t>{1}));
  EXPECT_EQ(Lookup(flat, "10.1.2.3", 3), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(Lookup(flat, "11.0.0.1", 3), (std::vector<uint32_t>{}));
}

TEST(CidrFlatten, NestedExceptsOfOneBlockAndOtherRuleInsideHole) {
  // Rule 0: 10/8 except 10.1/16 and 10.1.1/24 (nested excepts: still excluded).
  // Rule 1: 10.1.1.0/24 itself.
  std::vector<CidrBlock> blocks = {
      {P("10.0.0.0/8"), {P("10.1.0.0/16"), P("10.1.1.0/24")}, 0},
      {P("10.1.1.0/24"), {}, 1},
  };
  auto flat = FlattenCidrs(blocks, 2);
  EXPECT_EQ(Lookup(flat, "10.1.1.1", 2), (std::vector<uint32_t>{1}));
  EXPECT_EQ(Lookup(flat, "10.1.2.1", 2), (std::vector<uint32_t>{}));
  EXPECT_EQ(Lookup(flat, "10.2.0.1", 2), (std::vector<uint32_t>{0}));
}

TEST(CidrFlatten, TwoBlocksOfOneRuleUnion) {
  // One rule, two ipBlocks: an address excluded by one block but inside the other matches.
  std::vector<CidrBlock> blocks = {
      {P("10.0.0.0/8"), {P("10.1.0.0/16")}, 0},
      {P("10.1.0.0/16"), {}, 0},
  };
  auto flat = FlattenCidrs(blocks, 1);
  EXPECT_EQ(Lookup(flat, "10.1.0.5", 1), (std::vector<uint32_t>{0}));
}

TEST(CidrFlatten, Ipv6BlockCoveringEverythingDoesNotMatchIpv4) {
  CidrBlock b{P("::/0"), {}, 0};
  ExcludeV4Mapped(&b);
  auto flat = FlattenCidrs({b}, 1);
  EXPECT_EQ(Lookup(flat, "2001:db8::1", 1), (std::vector<uint32_t>{0}));
  EXPECT_EQ(Lookup(flat, "10.0.0.1", 1), (std::vector<uint32_t>{}));
  CidrBlock v4{P("0.0.0.0/0"), {}, 0};
  ExcludeV4Mapped(&v4);
  EXPECT_TRUE(v4.except.empty());
  flat = FlattenCidrs({v4}, 1);
  EXPECT_EQ(Lookup(flat, "10.0.0.1", 1), (std::vector<uint32_t>{0}));
  EXPECT_EQ(Lookup(flat, "2001:db8::1", 1), (std::vector<uint32_t>{}));
}

}  // namespace
}  // namespace netfence::compiler
