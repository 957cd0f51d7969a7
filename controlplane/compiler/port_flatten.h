// SPDX-License-Identifier: Apache-2.0
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

// Flattens spans into ranges sorted by (protocol, first); adjacent ranges with equal rules
// are merged; ports no rule covers are left out. One flattener serves many tables: its
// buffers keep their capacity between calls (tables hold a handful of ports each).
class PortFlattener {
 public:
  // Fills `out` (cleared first).
  void Flatten(const std::vector<PortSpan>& spans, uint32_t rule_count, std::vector<FlatPortRange>* out);

 private:
  struct Event {
    uint8_t protocol;
    uint32_t at;  // 0..65536
    int delta;
    uint32_t bit;
  };
  std::vector<Event> events_;
  std::vector<uint32_t> count_;  // per rule bit: spans covering the current port
};

// Convenience for tests and one-off use.
std::vector<FlatPortRange> FlattenPorts(const std::vector<PortSpan>& spans, uint32_t rule_count);

}  // namespace netfence::compiler
