// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/port_flatten.h"

#include <algorithm>
#include <tuple>

namespace netfence::compiler {

std::vector<FlatPortRange> FlattenPorts(const std::vector<PortSpan>& spans, uint32_t rule_count) {
  std::vector<FlatPortRange> out;
  PortFlattener().Flatten(spans, rule_count, &out);
  return out;
}

void PortFlattener::Flatten(const std::vector<PortSpan>& spans, uint32_t rule_count,
                            std::vector<FlatPortRange>* out_ptr) {
  std::vector<FlatPortRange>& out = *out_ptr;
  out.clear();
  // Sweep over boundary events per protocol: +bit at `first`, -bit after `last`.
  events_.clear();
  for (const auto& s : spans) {
    events_.push_back({s.protocol, s.first, +1, s.rule_bit});
    events_.push_back({s.protocol, uint32_t{s.last} + 1, -1, s.rule_bit});
  }
  std::sort(events_.begin(), events_.end(),
            [](const Event& a, const Event& b) { return std::tie(a.protocol, a.at) < std::tie(b.protocol, b.at); });
  count_.assign(rule_count, 0);
  Bits current(rule_count);
  uint32_t active = 0;  // rule bits with a positive count
  for (size_t i = 0; i < events_.size();) {
    const uint8_t proto = events_[i].protocol;
    const uint32_t at = events_[i].at;
    for (; i < events_.size() && events_[i].protocol == proto && events_[i].at == at; ++i) {
      uint32_t& c = count_[events_[i].bit];
      if (events_[i].delta > 0) {
        if (c++ == 0) current.set(events_[i].bit), ++active;
      } else {
        if (--c == 0) current.clear(events_[i].bit), --active;
      }
    }
    // The range [at, next boundary) carries `current`.
    bool more = i < events_.size() && events_[i].protocol == proto;
    if (!more || active == 0) continue;
    uint32_t end = events_[i].at - 1;
    if (!out.empty() && out.back().protocol == proto && out.back().last + 1u == at && out.back().rules == current) {
      out.back().last = static_cast<uint16_t>(end);
    } else {
      out.push_back({proto, static_cast<uint16_t>(at), static_cast<uint16_t>(end), current});
    }
  }
}

}  // namespace netfence::compiler
