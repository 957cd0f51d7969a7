// Turns the port entries of many rules into non-overlapping ranges per protocol, each with
// the set of rules matching every port inside it.
#pragma once

#include <cstdint>
#include <vector>

#include "controlplane/compiler/rows.h"

namespace netfence::compiler {

struct PortSpan {
  uint8_t protocol = 6;
  uint16_t first = 0;
  uint16_t last = 65535;
  uint32_t rule_bit = 0;
};

struct FlatPortRange {
  uint8_t protocol;
  uint16_t first;
  uint16_t last;
  Bits rules;
};

// Sorted by (protocol, first); adjacent ranges with equal rules are merged; ports no rule
// covers are left out.
std::vector<FlatPortRange> FlattenPorts(const std::vector<PortSpan>& spans, uint32_t rule_count);
// The same into `out` (cleared first), reusing its capacity.
void FlattenPorts(const std::vector<PortSpan>& spans, uint32_t rule_count, std::vector<FlatPortRange>* out);

}  // namespace netfence::compiler
