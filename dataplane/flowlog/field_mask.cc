// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/field_mask.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace netfence::flowlog {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kScalars[] = {
    "schema",     "time",       "event",      "node",         "observation_point", "ifindex",       "verdict",
    "direction",  "reason",     "proto",      "community_id", "packets",           "bytes",         "generation",
    "flow_id",    "start_time", "end_time",   "src_packets",  "src_bytes",         "dst_packets",   "dst_bytes",
    "end_reason", "count",      "first_time", "last_time",    "aggregation",       "folded_tuples", "lost_events",
    "since",      "until",      "lost_at",    "enforced",     "audited",           "audit_reason"};
constexpr std::string_view kEndpoint[] = {"ip", "port", "namespace", "pod", "node", "labels", "identity"};
constexpr std::string_view kPolicy[] = {"namespace", "name",   "direction", "rule", "kind",
                                        "tier",      "action", "rule_name", "audit"};
constexpr std::string_view kTcpFlags[] = {"src", "dst"};

template <size_t N>
bool In(const std::string_view (&names)[N], std::string_view s) {
  return std::find(std::begin(names), std::end(names), s) != std::end(names);
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// Whether `parts` is a path of the record.
bool Known(const std::vector<std::string>& p) {
  if (p.empty() || std::any_of(p.begin(), p.end(), [](const std::string& s) { return s.empty(); })) return false;
  if (p.size() == 1)
    return In(kScalars, p[0]) || p[0] == "src" || p[0] == "dst" || p[0] == "policies" || p[0] == "audit_policies" ||
           p[0] == "tcp_flags";
  if (p[0] == "src" || p[0] == "dst") {
    if (!In(kEndpoint, p[1])) return false;
    return p.size() == 2 || (p.size() == 3 && p[1] == "labels");
  }
  if (p.size() != 2) return false;
  if (p[0] == "policies" || p[0] == "audit_policies") return In(kPolicy, p[1]);
  if (p[0] == "tcp_flags") return In(kTcpFlags, p[1]);
  return false;
}

}  // namespace

std::vector<std::string> FieldMask::KnownPaths() {
  std::vector<std::string> out;
  auto scalars_until = [&](std::string_view stop) {
    for (std::string_view s : kScalars) {
      if (s == stop) break;
      if (std::find(out.begin(), out.end(), s) == out.end()) out.emplace_back(s);
    }
  };
  scalars_until("community_id");
  for (const char* side : {"src", "dst"}) {
    out.emplace_back(side);
    for (std::string_view f : kEndpoint) out.push_back(std::string(side) + "." + std::string(f));
    out.push_back(std::string(side) + ".labels.KEY");
  }
  for (std::string_view s : kScalars) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.emplace_back(s);
    if (s == "generation") {
      out.emplace_back("policies");
      for (std::string_view f : kPolicy) out.push_back("policies." + std::string(f));
    }
    if (s == "audit_reason") {
      out.emplace_back("audit_policies");
      for (std::string_view f : kPolicy) out.push_back("audit_policies." + std::string(f));
    }
    if (s == "dst_bytes") {
      out.emplace_back("tcp_flags");
      for (std::string_view f : kTcpFlags) out.push_back("tcp_flags." + std::string(f));
    }
  }
  return out;
}

StatusOr<FieldMask> FieldMask::Parse(const std::vector<std::string>& paths) {
  FieldMask m;
  for (const std::string& path : paths) {
    const std::vector<std::string> parts = Split(path, '.');
    if (!Known(parts)) {
      std::string known;
      for (const std::string& k : KnownPaths()) known += (known.empty() ? "" : ", ") + k;
      return Status::Error("\"" + path + "\" is not a field of a flow record (fields: " + known + ")");
    }
    if (std::find(m.paths_.begin(), m.paths_.end(), path) != m.paths_.end()) continue;
    m.paths_.push_back(path);
    Node* n = &m.root_;
    for (const std::string& part : parts) {
      if (n->whole) break;  // an enclosing field is kept whole already
      n = &n->children[part];
    }
    n->whole = true;
    n->children.clear();
  }
  return m;
}

StatusOr<FieldMask> FieldMask::ParseList(std::string_view comma_separated) {
  std::vector<std::string> paths;
  for (std::string& p : Split(comma_separated, ',')) {
    if (!p.empty()) paths.push_back(std::move(p));
  }
  return Parse(paths);
}

namespace {

template <typename Node>
Json Prune(const Json& value, const Node& n) {
  if (n.whole) return value;
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& e : value) out.push_back(Prune(e, n));
    return out;
  }
  if (!value.is_object()) return value;  // null where the mask goes deeper: as it is
  Json out = Json::object();
  for (auto it = value.begin(); it != value.end(); ++it) {
    auto c = n.children.find(it.key());
    if (c != n.children.end()) out[it.key()] = Prune(it.value(), c->second);
  }
  return out;
}

}  // namespace

std::string FieldMask::Apply(std::string_view line) const {
  if (paths_.empty()) return std::string(line);
  Json j = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::string(line);
  if (auto e = j.find("event"); e != j.end() && *e == "lost") return std::string(line);
  return Prune(j, root_).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace netfence::flowlog
