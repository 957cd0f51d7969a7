#include "dataplane/flowlog/flow_record.h"

#include <arpa/inet.h>

#include <charconv>
#include <nlohmann/json.hpp>

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
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
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

// ---- Reading: nlohmann DOM with checked accessors (a type mismatch is an error, not a throw).

using nlohmann::json;

bool ReadString(const json& j, const char* key, bool required, std::string* out, std::string* err) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) *err = std::string("missing field \"") + key + "\"";
    return !required;
  }
  if (!it->is_string()) {
    *err = std::string("field \"") + key + "\" is not a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool ReadU64(const json& j, const char* key, bool required, uint64_t* out, std::string* err) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) *err = std::string("missing field \"") + key + "\"";
    return !required;
  }
  if (!it->is_number_unsigned()) {
    *err = std::string("field \"") + key + "\" is not a non-negative integer";
    return false;
  }
  *out = it->get<uint64_t>();
  return true;
}

bool ReadTime(const json& j, const char* key, bool required, int64_t* out, std::string* err) {
  std::string s;
  if (!ReadString(j, key, required, &s, err)) return false;
  if (s.empty() && !required && j.find(key) == j.end()) return true;
  auto t = ParseTime(s);
  if (!t) {
    *err = std::string("field \"") + key + "\" is not an RFC 3339 time: \"" + s + "\"";
    return false;
  }
  *out = *t;
  return true;
}

bool ReadEndpoint(const json& j, const char* key, Endpoint* e, std::string* err) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) {
    *err = std::string("field \"") + key + "\" is missing or not an object";
    return false;
  }
  const json& o = *it;
  std::string where = std::string(key) + ".";
  auto ip = o.find("ip");
  if (ip == o.end()) {
    *err = "missing field \"" + where + "ip\"";
    return false;
  }
  if (ip->is_string()) {
    e->ip = IpAddr::Parse(ip->get<std::string>());
    if (!e->ip) {
      *err = "field \"" + where + "ip\" is not an IP address";
      return false;
    }
  } else if (!ip->is_null()) {
    *err = "field \"" + where + "ip\" is not a string";
    return false;
  }
  auto port = o.find("port");
  if (port == o.end()) {
    *err = "missing field \"" + where + "port\"";
    return false;
  }
  if (port->is_number_unsigned() && port->get<uint64_t>() <= 65535) {
    e->port = static_cast<uint16_t>(port->get<uint64_t>());
  } else if (!port->is_null()) {
    *err = "field \"" + where + "port\" is not a port number";
    return false;
  }
  for (auto [name, dst] : {std::pair{"namespace", &e->ns}, std::pair{"pod", &e->pod}, std::pair{"node", &e->node}}) {
    auto f = o.find(name);
    if (f == o.end() || !f->is_string()) {
      *err = std::string(f == o.end() ? "missing field \"" : "field \"") + where + name +
             (f == o.end() ? "\"" : "\" is not a string");
      return false;
    }
    *dst = f->get<std::string>();
  }
  if (auto l = o.find("labels"); l != o.end()) {
    if (!l->is_object()) {
      *err = "field \"" + where + "labels\" is not an object";
      return false;
    }
    for (auto lit = l->begin(); lit != l->end(); ++lit) {
      if (!lit.value().is_string()) {
        *err = "label \"" + lit.key() + "\" of \"" + where + "labels\" is not a string";
        return false;
      }
      e->labels.emplace_back(lit.key(), lit.value().get<std::string>());
    }
  }
  if (auto id = o.find("identity"); id != o.end()) {
    if (!id->is_number_unsigned() || id->get<uint64_t>() > UINT32_MAX) {
      *err = "field \"" + where + "identity\" is not a 32-bit identity";
      return false;
    }
    e->identity = static_cast<uint32_t>(id->get<uint64_t>());
  }
  return true;
}

bool ReadPolicies(const json& j, std::vector<PolicyRef>* out, std::string* err) {
  auto it = j.find("policies");
  if (it == j.end() || !it->is_array()) {
    *err = "field \"policies\" is missing or not an array";
    return false;
  }
  for (const auto& p : *it) {
    PolicyRef ref;
    std::string dir;
    if (!p.is_object() || !ReadString(p, "namespace", true, &ref.ns, err) || !ReadString(p, "name", true, &ref.name, err) ||
        !ReadString(p, "direction", true, &dir, err)) {
      *err = "policies: " + (err->empty() ? std::string("entry is not an object") : *err);
      return false;
    }
    auto d = ParseDirectionName(dir);
    if (!d) {
      *err = "policies: direction \"" + dir + "\" is not ingress or egress";
      return false;
    }
    ref.direction = *d;
    auto rule = p.find("rule");
    if (rule == p.end()) {
      *err = "policies: missing field \"rule\"";
      return false;
    }
    if (rule->is_number_unsigned() && rule->get<uint64_t>() <= UINT32_MAX) {
      ref.rule = static_cast<uint32_t>(rule->get<uint64_t>());
    } else if (!rule->is_null()) {
      *err = "policies: \"rule\" is not a rule index";
      return false;
    }
    out->push_back(std::move(ref));
  }
  return true;
}

bool ReadFlags(const json& j, uint8_t* out, std::string* err) {
  if (!j.is_array()) {
    *err = "tcp_flags: not an array";
    return false;
  }
  for (const auto& f : j) {
    auto bit = f.is_string() ? ParseTcpFlagName(f.get<std::string>()) : std::nullopt;
    if (!bit) {
      *err = "tcp_flags: unknown flag " + f.dump();
      return false;
    }
    *out |= *bit;
  }
  return true;
}

StatusOr<FlowRecord> Parse(const json& j) {
  if (!j.is_object()) return Status::Error("not a JSON object");
  FlowRecord r;
  std::string err, s;
  if (!ReadString(j, "schema", true, &s, &err)) return Status::Error(err);
  if (s != kSchema) return Status::Error("schema \"" + s + "\" is not " + std::string(kSchema));
  if (!ReadTime(j, "time", true, &r.time_ns, &err)) return Status::Error(err);
  if (!ReadString(j, "event", true, &s, &err)) return Status::Error(err);
  auto ev = ParseEventName(s);
  if (!ev) return Status::Error("event \"" + s + "\" is not start, update, end, drop or lost");
  r.event = *ev;
  if (!ReadString(j, "node", false, &r.node, &err)) return Status::Error(err);

  if (r.event == EventKind::kLost) {
    r.reason.clear();
    if (!ReadU64(j, "lost_events", true, &r.lost_events, &err) || !ReadTime(j, "since", true, &r.since_ns, &err) ||
        !ReadTime(j, "until", true, &r.until_ns, &err) || !ReadString(j, "lost_at", true, &r.lost_at, &err)) {
      return Status::Error(err);
    }
    return r;
  }

  if (!ReadString(j, "verdict", true, &s, &err)) return Status::Error(err);
  auto v = ParseVerdictName(s);
  if (!v) return Status::Error("verdict \"" + s + "\" is not allowed, denied or audit");
  r.verdict = *v;
  if (!ReadString(j, "direction", true, &s, &err)) return Status::Error(err);
  auto d = ParseDirectionName(s);
  if (!d) return Status::Error("direction \"" + s + "\" is not ingress or egress");
  r.direction = *d;
  if (!ReadString(j, "reason", true, &r.reason, &err)) return Status::Error(err);
  auto proto = j.find("proto");
  std::optional<uint8_t> pn;
  if (proto != j.end() && proto->is_string()) pn = ParseProtoName(proto->get<std::string>());
  if (proto != j.end() && proto->is_number_unsigned() && proto->get<uint64_t>() <= 255) {
    pn = static_cast<uint8_t>(proto->get<uint64_t>());
  }
  if (!pn) return Status::Error("field \"proto\" is missing or not a protocol");
  r.proto = *pn;
  if (!ReadEndpoint(j, "src", &r.src, &err) || !ReadEndpoint(j, "dst", &r.dst, &err)) return Status::Error(err);
  if (!ReadString(j, "community_id", true, &r.community_id, &err) || !ReadU64(j, "packets", true, &r.packets, &err) ||
      !ReadU64(j, "bytes", true, &r.bytes, &err) || !ReadU64(j, "generation", true, &r.generation, &err) ||
      !ReadPolicies(j, &r.policies, &err)) {
    return Status::Error(err);
  }
  uint64_t ifindex = 0;
  if (!ReadString(j, "observation_point", false, &r.observation_point, &err) ||
      !ReadU64(j, "ifindex", false, &ifindex, &err)) {
    return Status::Error(err);
  }
  if (ifindex > UINT32_MAX) return Status::Error("field \"ifindex\" is out of range");
  r.ifindex = static_cast<uint32_t>(ifindex);

  if (r.event == EventKind::kDrop) {
    std::string agg;
    if (!ReadU64(j, "count", true, &r.count, &err) || !ReadTime(j, "first_time", true, &r.first_time_ns, &err) ||
        !ReadTime(j, "last_time", true, &r.last_time_ns, &err) || !ReadString(j, "aggregation", true, &agg, &err)) {
      return Status::Error(err);
    }
    if (agg == "exact") r.aggregation = Aggregation::kExact;
    else if (agg == "pair") r.aggregation = Aggregation::kPair;
    else if (agg == "overflow") r.aggregation = Aggregation::kOverflow;
    else return Status::Error("aggregation \"" + agg + "\" is not exact, pair or overflow");
    return r;
  }

  if (!ReadU64(j, "flow_id", false, &r.flow_id, &err) || !ReadTime(j, "start_time", false, &r.start_time_ns, &err) ||
      !ReadTime(j, "end_time", false, &r.end_time_ns, &err) ||
      !ReadU64(j, "src_packets", false, &r.src_packets, &err) || !ReadU64(j, "src_bytes", false, &r.src_bytes, &err) ||
      !ReadU64(j, "dst_packets", false, &r.dst_packets, &err) || !ReadU64(j, "dst_bytes", false, &r.dst_bytes, &err) ||
      !ReadString(j, "end_reason", false, &r.end_reason, &err)) {
    return Status::Error(err);
  }
  if (auto f = j.find("tcp_flags"); f != j.end()) {
    if (!f->is_object()) return Status::Error("field \"tcp_flags\" is not an object");
    if (auto fs = f->find("src"); fs != f->end() && !ReadFlags(*fs, &r.tcp_flags_src, &err)) return Status::Error(err);
    if (auto fd = f->find("dst"); fd != f->end() && !ReadFlags(*fd, &r.tcp_flags_dst, &err)) return Status::Error(err);
  }
  return r;
}

}  // namespace

std::string_view EventName(EventKind e) {
  switch (e) {
    case EventKind::kStart: return "start";
    case EventKind::kUpdate: return "update";
    case EventKind::kEnd: return "end";
    case EventKind::kDrop: return "drop";
    case EventKind::kLost: return "lost";
  }
  return "?";
}
std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAllowed: return "allowed";
    case Verdict::kDenied: return "denied";
    case Verdict::kAudit: return "audit";
  }
  return "?";
}
std::string_view DirectionName(Direction d) { return d == Direction::kIngress ? "ingress" : "egress"; }
std::string_view AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kExact: return "exact";
    case Aggregation::kPair: return "pair";
    case Aggregation::kOverflow: return "overflow";
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
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "ICMPv6";
    case 132: return "SCTP";
    default: return std::to_string(proto);
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
    case 1: out->append("ICMP"); break;
    case 6: out->append("TCP"); break;
    case 17: out->append("UDP"); break;
    case 58: out->append("ICMPv6"); break;
    case 132: out->append("SCTP"); break;
    default: Num(r.proto, out);
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
  out->push_back('[');
  for (size_t i = 0; i < r.policies.size(); ++i) {
    const auto& p = r.policies[i];
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
    out->push_back('}');
  }
  out->push_back(']');

  if (r.event == EventKind::kDrop) {
    Key("count", out);
    Num(r.count, out);
    Key("first_time", out);
    Time(r.first_time_ns, out);
    Key("last_time", out);
    Time(r.last_time_ns, out);
    Key("aggregation", out);
    Str(AggregationName(r.aggregation), out);
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

StatusOr<FlowRecord> ParseRecord(std::string_view line) {
  try {
    json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::Error("not valid JSON");
    return Parse(j);
  } catch (const std::exception& e) {  // nlohmann throws on a few type mismatches we do not pre-check
    return Status::Error(std::string("invalid record: ") + e.what());
  }
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
