#include "controlplane/compiler/port_flatten.h"

#include <algorithm>
#include <tuple>

namespace netfence::compiler {

std::vector<FlatPortRange> FlattenPorts(const std::vector<PortSpan>& spans, uint32_t rule_count) {
  std::vector<FlatPortRange> out;
  FlattenPorts(spans, rule_count, &out);
  return out;
}

void FlattenPorts(const std::vector<PortSpan>& spans, uint32_t rule_count, std::vector<FlatPortRange>* out_ptr) {
  std::vector<FlatPortRange>& out = *out_ptr;
  out.clear();
  // Sweep over boundary events per protocol: +bit at `first`, -bit after `last`.
  struct Event {
    uint8_t protocol;
    uint32_t at;  // 0..65536
    int delta;
    uint32_t bit;
    auto key() const { return std::tuple(protocol, at); }
  };
  // Small inputs are the rule (a handful of ports per table): keep the buffers between calls.
  static thread_local std::vector<Event> events;
  events.clear();
  for (const auto& s : spans) {
    events.push_back({s.protocol, s.first, +1, s.rule_bit});
    events.push_back({s.protocol, uint32_t{s.last} + 1, -1, s.rule_bit});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.key() < b.key(); });

  static thread_local std::vector<uint32_t> count;
  count.assign(rule_count, 0);
  Bits current(rule_count);
  uint32_t active = 0;  // rule bits with a positive count
  for (size_t i = 0; i < events.size();) {
    uint8_t proto = events[i].protocol;
    uint32_t at = events[i].at;
    for (; i < events.size() && events[i].protocol == proto && events[i].at == at; ++i) {
      uint32_t& c = count[events[i].bit];
      if (events[i].delta > 0) {
        if (c++ == 0) current.set(events[i].bit), ++active;
      } else {
        if (--c == 0) current.clear(events[i].bit), --active;
      }
    }
    // The range [at, next boundary) carries `current`.
    bool more = i < events.size() && events[i].protocol == proto;
    if (!more || active == 0) continue;
    uint32_t end = events[i].at - 1;
    if (!out.empty() && out.back().protocol == proto && out.back().last + 1u == at && out.back().rules == current) {
      out.back().last = static_cast<uint16_t>(end);
    } else {
      out.push_back({proto, static_cast<uint16_t>(at), static_cast<uint16_t>(end), current});
    }
  }
}

}  // namespace netfence::compiler
