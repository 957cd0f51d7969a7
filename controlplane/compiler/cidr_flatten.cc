// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/cidr_flatten.h"

#include <algorithm>
#include <map>

namespace netfence::compiler {

namespace {

const IpPrefix kV4Mapped = *IpPrefix::Parse("::ffff:0:0/96");

struct Node {
  std::vector<uint32_t> adds;     // blocks whose cidr is this prefix
  std::vector<uint32_t> removes;  // blocks with an except equal to this prefix
};

}  // namespace

void ExcludeV4Mapped(CidrBlock* block) {
  if (block->cidr.is_v4() || !block->cidr.contains(kV4Mapped)) return;
  // An explicit except inside the v4-mapped range is redundant then: drop it.
  std::erase_if(block->except, [](const IpPrefix& e) { return kV4Mapped.contains(e); });
  block->except.push_back(kV4Mapped);
}

std::vector<FlatPrefix> FlattenCidrs(const std::vector<CidrBlock>& blocks, uint32_t rule_count) {
  if (blocks.empty()) return {};
  std::map<IpPrefix, Node> nodes;  // ordered by (address, length): ancestors come first
  for (uint32_t b = 0; b < blocks.size(); ++b) {
    nodes[blocks[b].cidr].adds.push_back(b);
    for (const auto& e : blocks[b].except) nodes[e].removes.push_back(b);
  }

  // Walk the prefixes depth-first. Along the path from the root, a block is active when its
  // cidr is on the path and none of its excepts is; a rule bit is set while it has an
  // active block. Entering a node applies its adds/removes, leaving it reverts them.
  std::vector<uint8_t> added(blocks.size(), 0);
  std::vector<uint32_t> removed(blocks.size(), 0);
  std::vector<uint32_t> active_blocks(rule_count, 0);
  Bits current(rule_count);
  auto bump = [&](uint32_t b, int delta) {
    uint32_t bit = blocks[b].rule_bit;
    uint32_t before = active_blocks[bit];
    active_blocks[bit] += delta;
    if ((before == 0) != (active_blocks[bit] == 0)) current.flip(bit);
  };
  auto apply = [&](const Node& n, int sign) {
    if (sign > 0) {
      for (uint32_t b : n.adds) {
        added[b] = 1;
        if (removed[b] == 0) bump(b, +1);
      }
      for (uint32_t b : n.removes) {
        if (added[b] && removed[b] == 0) bump(b, -1);
        ++removed[b];
      }
    } else {
      for (uint32_t b : n.removes) {
        --removed[b];
        if (added[b] && removed[b] == 0) bump(b, +1);
      }
      for (uint32_t b : n.adds) {
        if (removed[b] == 0) bump(b, -1);
        added[b] = 0;
      }
    }
  };

  std::vector<FlatPrefix> out;
  out.reserve(nodes.size());
  std::vector<std::map<IpPrefix, Node>::const_iterator> path;
  for (auto it = nodes.cbegin(); it != nodes.cend(); ++it) {
    while (!path.empty() && !path.back()->first.contains(it->first)) {
      apply(path.back()->second, -1);
      path.pop_back();
    }
    apply(it->second, +1);
    path.push_back(it);
    out.push_back({it->first, current});
  }
  return out;
}

}  // namespace netfence::compiler
