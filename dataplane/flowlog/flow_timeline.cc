// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/flow_timeline.h"

#include <algorithm>
#include <cstdio>

#include "dataplane/flowlog/record_format.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {

namespace {

int Rank(EventKind e) {
  switch (e) {
    case EventKind::kStart:
      return 0;
    case EventKind::kDrop:
      return 1;
    case EventKind::kUpdate:
      return 2;
    case EventKind::kEnd:
      return 3;
    case EventKind::kLost:
      return 4;
  }
  return 5;
}

std::string Pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

// "+0.000233s", "+12.5s"
std::string Offset(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "+%.6fs", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string Details(const FlowRecord& r) {
  std::string d = std::string(DirectionName(r.direction)) + " " + r.reason;
  if (r.event == EventKind::kDrop) {
    d += ": " + std::to_string(r.count) + " packet(s) dropped until " + FormatTime(r.last_time_ns);
  } else {
    d += ": " + std::to_string(r.src_packets) + "/" + std::to_string(r.dst_packets) + " packets, " +
         std::to_string(r.src_bytes) + "/" + std::to_string(r.dst_bytes) + " bytes (sent/replied)";
    if (!r.end_reason.empty()) d += ", " + r.end_reason;
  }
  const std::string pol = PolicyText(r.policies);
  if (!pol.empty()) d += "; " + pol;
  d += "; generation " + std::to_string(r.generation);
  if (r.flow_id != 0) d += "; flow_id " + std::to_string(r.flow_id);
  return d;
}

}  // namespace

int64_t FlowTimeline::EventTime(const FlowRecord& r) {
  return r.event == EventKind::kDrop && r.first_time_ns != 0 ? r.first_time_ns : r.time_ns;
}

bool FlowTimeline::Add(const FlowRecord& r) {
  if (r.event == EventKind::kLost || r.community_id != id_) return false;
  records_.push_back(r);
  return true;
}

std::vector<FlowRecord> FlowTimeline::Sorted() const {
  std::vector<FlowRecord> out = records_;
  std::stable_sort(out.begin(), out.end(), [](const FlowRecord& a, const FlowRecord& b) {
    const int64_t ta = EventTime(a), tb = EventTime(b);
    if (ta != tb) return ta < tb;
    return Rank(a.event) < Rank(b.event);
  });
  return out;
}

std::string FlowTimeline::ToText() const {
  const std::vector<FlowRecord> rs = Sorted();
  std::string out = "flow " + id_;
  if (rs.empty()) return out + ": no record\n";
  const FlowRecord& first = rs.front();
  out += "  " + ProtoName(first.proto) + "  " + EndpointText(first.src) + " -> " + EndpointText(first.dst) + "  (" +
         std::to_string(rs.size()) + " record(s))\n";
  out += "TIME                            OFFSET       NODE          EVENT   VERDICT  DETAILS\n";
  const int64_t t0 = EventTime(first);
  for (const FlowRecord& r : rs) {
    const int64_t t = EventTime(r);
    out += FormatTime(t) + "  " + Pad(Offset(t - t0), 11) + "  " + Pad(r.node.empty() ? "-" : r.node, 12) + "  " +
           Pad(std::string(EventName(r.event)), 6) + "  " + Pad(std::string(VerdictName(r.verdict)), 7) + "  " +
           Details(r) + "\n";
  }
  return out;
}

}  // namespace netfence::flowlog
