// SPDX-License-Identifier: Apache-2.0
// ParseRecord: a flow-log line back into a FlowRecord (the reading side: netfencectl flows).
// nlohmann's DOM with checked accessors: a type mismatch is an error naming the field, not a
// throw.
#include <nlohmann/json.hpp>

#include "dataplane/flowlog/flow_record.h"

#include "common/base/json_depth.h"
#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {

namespace {

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

// `key`: "policies" (required) or "audit_policies" (audit records only); errors start with it.
bool ReadPolicies(const json& j, const char* key, bool required, std::vector<PolicyRef>* out, std::string* err) {
  auto it = j.find(key);
  const std::string where = std::string(key) + ": ";
  if (it == j.end() && !required) return true;
  if (it == j.end() || !it->is_array()) {
    *err = std::string("field \"") + key + "\" is missing or not an array";
    return false;
  }
  for (const auto& p : *it) {
    PolicyRef ref;
    std::string dir;
    if (!p.is_object() || !ReadString(p, "namespace", true, &ref.ns, err) ||
        !ReadString(p, "name", true, &ref.name, err) || !ReadString(p, "direction", true, &dir, err)) {
      *err = where + (err->empty() ? std::string("entry is not an object") : *err);
      return false;
    }
    auto d = ParseDirectionName(dir);
    if (!d) {
      *err = where + "direction \"" + dir + "\" is not ingress or egress";
      return false;
    }
    ref.direction = *d;
    auto rule = p.find("rule");
    if (rule == p.end()) {
      *err = where + "missing field \"rule\"";
      return false;
    }
    if (rule->is_number_unsigned() && rule->get<uint64_t>() <= UINT32_MAX) {
      ref.rule = static_cast<uint32_t>(rule->get<uint64_t>());
    } else if (!rule->is_null()) {
      *err = where + "\"rule\" is not a rule index";
      return false;
    }
    // kind, tier, action and rule_name (absent in logs of NetworkPolicy-only versions).
    std::string action, rule_name;
    if (!ReadString(p, "kind", false, &ref.kind, err) || !ReadString(p, "tier", false, &ref.tier, err) ||
        !ReadString(p, "action", false, &action, err) || !ReadString(p, "rule_name", false, &rule_name, err)) {
      *err = where + *err;
      return false;
    }
    if (ref.cluster()) ref.action = action;  // a NetworkPolicy rule's action is always Allow
    if (p.contains("rule_name")) ref.rule_name = rule_name;
    if (auto audit = p.find("audit"); audit != p.end()) {
      if (!audit->is_boolean()) {
        *err = where + "field \"audit\" is not a boolean";
        return false;
      }
      ref.audit = audit->get<bool>();
    }
    out->push_back(std::move(ref));
  }
  return true;
}

// enforced / audited: "allowed" or "denied" (never "audit": these say what each side decided).
bool ReadSideVerdict(const json& j, const char* key, std::optional<Verdict>* out, std::string* err) {
  std::string s;
  if (!ReadString(j, key, false, &s, err)) return false;
  if (!j.contains(key)) return true;
  auto v = ParseVerdictName(s);
  if (!v || *v == Verdict::kAudit) {
    *err = std::string("field \"") + key + "\" is not allowed or denied: \"" + s + "\"";
    return false;
  }
  *out = *v;
  return true;
}

// audit_reason: like reason, a string a reader keeps whatever it says; but never empty when present.
bool ReadAuditFields(const json& j, FlowRecord* r, std::string* err) {
  if (!ReadSideVerdict(j, "enforced", &r->enforced, err) || !ReadSideVerdict(j, "audited", &r->audited, err) ||
      !ReadString(j, "audit_reason", false, &r->audit_reason, err) ||
      !ReadPolicies(j, "audit_policies", false, &r->audit_policies, err)) {
    return false;
  }
  if (j.contains("audit_reason") && r->audit_reason.empty()) {
    *err = "field \"audit_reason\" is empty";
    return false;
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
      !ReadPolicies(j, "policies", true, &r.policies, &err) || !ReadAuditFields(j, &r, &err)) {
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
    if (agg == "exact")
      r.aggregation = Aggregation::kExact;
    else if (agg == "folded")
      r.aggregation = Aggregation::kFolded;
    else if (agg == "overflow")
      r.aggregation = Aggregation::kOverflow;
    else if (agg == "pair")
      r.aggregation = Aggregation::kPair;
    else
      return Status::Error("aggregation \"" + agg + "\" is not exact, folded or overflow");
    if (!ReadU64(j, "folded_tuples", false, &r.folded_tuples, &err)) return Status::Error(err);
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

StatusOr<FlowRecord> ParseRecord(std::string_view line) {
  try {
    if (Status depth = CheckJsonDepth(line); !depth.ok()) return depth;
    json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::Error("not valid JSON");
    return Parse(j);
  } catch (const std::exception& e) {  // nlohmann throws on a few type mismatches we do not pre-check
    return Status::Error(std::string("invalid record: ") + e.what());
  }
}

}  // namespace netfence::flowlog
