// SPDX-License-Identifier: Apache-2.0
// FlowRecord: the names of the enums and the NDJSON writer (ParseRecord is in flow_record_parse.cc).
#include "dataplane/flowlog/flow_record.h"

#include <arpa/inet.h>

#include <charconv>

#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {

namespace {

constexpr std::string_view kTcpFlags[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};

// ---- Writing: a small hand-rolled JSON writer (fixed field order, one buffer). ----------

void Num(uint64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void Str(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// ,"key":
void Key(std::string_view k, std::string* out) {
  out->push_back(',');
  out->push_back('"');
  out->append(k);
  out->append("\":");
}

void Time(int64_t ns, std::string* out) {
  out->push_back('"');
  AppendTime(ns, out);
  out->push_back('"');
}

void Ip(const IpAddr& a, std::string* out) {
  char buf[INET6_ADDRSTRLEN];
  if (a.is_v4()) {
    inet_ntop(AF_INET, a.bytes.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof(buf));
  }
  out->push_back('"');
  out->append(buf);
  out->push_back('"');
}

void WriteEndpoint(const Endpoint& e, std::string* out) {
  out->append("{\"ip\":");
  if (e.ip) {
    Ip(*e.ip, out);
  } else {
    out->append("null");
  }
  Key("port", out);
  if (e.port) {
    Num(*e.port, out);
  } else {
    out->append("null");
  }
  Key("namespace", out);
  Str(e.ns, out);
  Key("pod", out);
  Str(e.pod, out);
  Key("node", out);
  Str(e.node, out);
  if (!e.labels.empty()) {
    Key("labels", out);
    out->push_back('{');
    bool first = true;
    for (const auto& [k, v] : e.labels) {
      if (!first) out->push_back(',');
      first = false;
      Str(k, out);
      out->push_back(':');
      Str(v, out);
    }
    out->push_back('}');
  }
  if (e.identity) {
    Key("identity", out);
    Num(*e.identity, out);
  }
  out->push_back('}');
}

void WriteFlags(uint8_t flags, std::string* out) {
  out->push_back('[');
  bool first = true;
  for (int i = 0; i < 8; ++i) {
    if (!(flags & (1u << i))) continue;
    if (!first) out->push_back(',');
    first = false;
    Str(kTcpFlags[i], out);
  }
  out->push_back(']');
}

// [{namespace, name, direction, rule, kind, tier[, action][, rule_name][, audit]}]
void WritePolicies(const std::vector<PolicyRef>& policies, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < policies.size(); ++i) {
    const auto& p = policies[i];
    if (i) out->push_back(',');
    out->append("{\"namespace\":");
    Str(p.ns, out);
    Key("name", out);
    Str(p.name, out);
    Key("direction", out);
    Str(DirectionName(p.direction), out);
    Key("rule", out);
    if (p.rule) {
      Num(*p.rule, out);
    } else {
      out->append("null");
    }
    Key("kind", out);
    Str(p.kind, out);
    Key("tier", out);
    Str(p.tier, out);
    if (p.rule) {
      Key("action", out);
      Str(p.cluster() ? p.action : std::string_view("Allow"), out);
      if (p.rule_name) {
        Key("rule_name", out);
        Str(*p.rule_name, out);
      }
    }
    if (p.audit) out->append(",\"audit\":true");  // only then: entries of enforced policies stay as they were
    out->push_back('}');
  }
  out->push_back(']');
}

}  // namespace

std::string_view EventName(EventKind e) {
  switch (e) {
    case EventKind::kStart:
      return "start";
    case EventKind::kUpdate:
      return "update";
    case EventKind::kEnd:
      return "end";
    case EventKind::kDrop:
      return "drop";
    case EventKind::kLost:
      return "lost";
  }
  return "?";
}
std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAllowed:
      return "allowed";
    case Verdict::kDenied:
      return "denied";
    case Verdict::kAudit:
      return "audit";
  }
  return "?";
}
std::string_view DirectionName(Direction d) { return d == Direction::kIngress ? "ingress" : "egress"; }
std::string_view AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kExact:
      return "exact";
    case Aggregation::kFolded:
      return "folded";
    case Aggregation::kPair:
      return "pair";
    case Aggregation::kOverflow:
      return "overflow";
  }
  return "?";
}
std::optional<EventKind> ParseEventName(std::string_view s) {
  for (auto e : {EventKind::kStart, EventKind::kUpdate, EventKind::kEnd, EventKind::kDrop, EventKind::kLost}) {
    if (EventName(e) == s) return e;
  }
  return std::nullopt;
}
std::optional<Verdict> ParseVerdictName(std::string_view s) {
  for (auto v : {Verdict::kAllowed, Verdict::kDenied, Verdict::kAudit}) {
    if (VerdictName(v) == s) return v;
  }
  return std::nullopt;
}
std::optional<Direction> ParseDirectionName(std::string_view s) {
  if (s == "ingress") return Direction::kIngress;
  if (s == "egress") return Direction::kEgress;
  return std::nullopt;
}

std::string ProtoName(uint8_t proto) {
  switch (proto) {
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 58:
      return "ICMPv6";
    case 132:
      return "SCTP";
    default:
      return std::to_string(proto);
  }
}

std::optional<uint8_t> ParseProtoName(std::string_view s) {
  std::string up(s);
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up == "ICMP") return 1;
  if (up == "TCP") return 6;
  if (up == "UDP") return 17;
  if (up == "ICMPV6") return 58;
  if (up == "SCTP") return 132;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > 255 || s.empty()) return std::nullopt;
  return static_cast<uint8_t>(v);
}

std::vector<std::string_view> TcpFlagNames(uint8_t flags) {
  std::vector<std::string_view> out;
  for (int i = 0; i < 8; ++i) {
    if (flags & (1u << i)) out.push_back(kTcpFlags[i]);
  }
  return out;
}

std::optional<uint8_t> ParseTcpFlagName(std::string_view name) {
  for (int i = 0; i < 8; ++i) {
    if (kTcpFlags[i] == name) return static_cast<uint8_t>(1u << i);
  }
  return std::nullopt;
}

void AppendJson(const FlowRecord& r, std::string* out) {
  out->append("{\"schema\":\"");
  out->append(kSchema);
  out->push_back('"');
  Key("time", out);
  Time(r.time_ns, out);
  Key("event", out);
  Str(EventName(r.event), out);
  if (!r.node.empty()) {
    Key("node", out);
    Str(r.node, out);
  }
  if (r.event == EventKind::kLost) {
    Key("lost_events", out);
    Num(r.lost_events, out);
    Key("since", out);
    Time(r.since_ns, out);
    Key("until", out);
    Time(r.until_ns, out);
    Key("lost_at", out);
    Str(r.lost_at, out);
    out->push_back('}');
    return;
  }
  if (!r.observation_point.empty()) {
    Key("observation_point", out);
    Str(r.observation_point, out);
  }
  if (r.ifindex != 0) {
    Key("ifindex", out);
    Num(r.ifindex, out);
  }
  Key("verdict", out);
  Str(VerdictName(r.verdict), out);
  Key("direction", out);
  Str(DirectionName(r.direction), out);
  Key("reason", out);
  Str(r.reason, out);
  Key("proto", out);
  out->push_back('"');
  switch (r.proto) {
    case 1:
      out->append("ICMP");
      break;
    case 6:
      out->append("TCP");
      break;
    case 17:
      out->append("UDP");
      break;
    case 58:
      out->append("ICMPv6");
      break;
    case 132:
      out->append("SCTP");
      break;
    default:
      Num(r.proto, out);
  }
  out->push_back('"');
  Key("src", out);
  WriteEndpoint(r.src, out);
  Key("dst", out);
  WriteEndpoint(r.dst, out);
  Key("community_id", out);
  Str(r.community_id, out);
  Key("packets", out);
  Num(r.packets, out);
  Key("bytes", out);
  Num(r.bytes, out);
  Key("generation", out);
  Num(r.generation, out);
  Key("policies", out);
  WritePolicies(r.policies, out);
  if (r.enforced) {
    Key("enforced", out);
    Str(VerdictName(*r.enforced), out);
  }
  if (r.audited) {
    Key("audited", out);
    Str(VerdictName(*r.audited), out);
  }
  if (!r.audit_reason.empty()) {
    Key("audit_reason", out);
    Str(r.audit_reason, out);
  }
  if (r.is_audit() || !r.audit_policies.empty()) {
    Key("audit_policies", out);
    WritePolicies(r.audit_policies, out);
  }

  if (r.event == EventKind::kDrop) {
    Key("count", out);
    Num(r.count, out);
    Key("first_time", out);
    Time(r.first_time_ns, out);
    Key("last_time", out);
    Time(r.last_time_ns, out);
    Key("aggregation", out);
    Str(AggregationName(r.aggregation), out);
    if (r.folded_tuples != 0) {
      Key("folded_tuples", out);
      Num(r.folded_tuples, out);
    }
    out->push_back('}');
    return;
  }
  if (r.flow_id != 0) {
    Key("flow_id", out);
    Num(r.flow_id, out);
  }
  if (r.start_time_ns != 0) {
    Key("start_time", out);
    Time(r.start_time_ns, out);
  }
  if (r.end_time_ns != 0) {
    Key("end_time", out);
    Time(r.end_time_ns, out);
  }
  Key("src_packets", out);
  Num(r.src_packets, out);
  Key("src_bytes", out);
  Num(r.src_bytes, out);
  Key("dst_packets", out);
  Num(r.dst_packets, out);
  Key("dst_bytes", out);
  Num(r.dst_bytes, out);
  if (r.proto == 6) {
    out->append(",\"tcp_flags\":{\"src\":");
    WriteFlags(r.tcp_flags_src, out);
    out->append(",\"dst\":");
    WriteFlags(r.tcp_flags_dst, out);
    out->push_back('}');
  }
  if (!r.end_reason.empty()) {
    Key("end_reason", out);
    Str(r.end_reason, out);
  }
  out->push_back('}');
}

std::string ToJson(const FlowRecord& r) {
  std::string s;
  s.reserve(512);
  AppendJson(r, &s);
  return s;
}

FlowRecord LostRecord(uint64_t lost_events, int64_t since_ns, int64_t until_ns, std::string lost_at, int64_t time_ns,
                      std::string node) {
  FlowRecord r;
  r.event = EventKind::kLost;
  r.time_ns = time_ns;
  r.lost_events = lost_events;
  r.since_ns = since_ns;
  r.until_ns = until_ns;
  r.lost_at = std::move(lost_at);
  r.node = std::move(node);
  r.reason.clear();
  return r;
}

}  // namespace netfence::flowlog
