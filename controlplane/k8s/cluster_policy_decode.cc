// SPDX-License-Identifier: Apache-2.0
// Sources mirrored: apis/v1alpha2/clusternetworkpolicy_types.go and
// config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml (v0.2.0);
// apis/v1alpha1/{adminnetworkpolicy,baselineadminnetworkpolicy,shared}_types.go (v0.1.x).
// Messages follow the API server's for CRDs (k8s.io/apiextensions-apiserver, kube-openapi).
#include "controlplane/k8s/cluster_policy_decode.h"

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "common/base/ip.h"
#include "controlplane/k8s/json_reader.h"
#include "controlplane/k8s/validate.h"

namespace netfence::k8s {

using nlohmann::json;

namespace {

using Type = FieldError::Type;

std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// The differences between the versions, in one place.
struct Version {
  bool v1alpha1 = false;
  bool baseline_v1alpha1 = false;  // BaselineAdminNetworkPolicy: no priority, Allow/Deny only
  size_t max_rules = 25;           // v1alpha1: 100
  size_t max_peers = 25;
  size_t max_ports = 25;
  const char* ports_key = "protocols";  // v1alpha1: "ports"
};

// The schema checks of one object, reporting with the API server's words.
class Schema {
 public:
  explicit Schema(Reader& r) : r_(r) {}

  void Required(const std::string& path) { r_.add({Type::kRequired, path, "", ""}); }

  // A required member: reports it when absent (or null).
  const json* Need(const json& obj, const char* key, const std::string& path) {
    const json* m = r_.member(obj, key);
    if (!m) Required(path);
    return m;
  }

  void Enum(const std::string& path, const std::string& value, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + "\"" + a + "\"";
    r_.add({Type::kUnsupported, path, Quote(value), "supported values: " + list});
  }

  // minimum / maximum of an integer.
  bool Bounds(const std::string& path, int64_t v, int64_t min, int64_t max) {
    if (v < min) {
      r_.add({Type::kInvalid, path, std::to_string(v),
              path + " in body should be greater than or equal to " + std::to_string(min)});
      return false;
    }
    if (v > max) {
      r_.add({Type::kInvalid, path, std::to_string(v),
              path + " in body should be less than or equal to " + std::to_string(max)});
      return false;
    }
    return true;
  }

  // minItems / maxItems of an array of n items.
  void Items(const std::string& path, size_t n, size_t min, size_t max) {
    if (n < min) {
      r_.add({Type::kInvalid, path, std::to_string(n),
              path + " in body should have at least " + std::to_string(min) + " items"});
    }
    if (n > max)
      r_.add({Type::kTooMany, path, std::to_string(n), "must have at most " + std::to_string(max) + " items"});
  }

  // minProperties 1 / maxProperties 1: `n` known members set.
  void ExactlyOne(const std::string& path, size_t n) {
    if (n == 0) r_.add({Type::kInvalid, path, "0", path + " in body should have at least 1 properties"});
    if (n > 1) r_.add({Type::kTooMany, path, std::to_string(n), "must have at most 1 items"});
  }

  void MaxLength(const std::string& path, const std::string& v, size_t max) {
    if (v.size() > max) r_.add({Type::kTooLong, path, "", "may not be more than " + std::to_string(max) + " bytes"});
  }

  // A CEL rule of the CRD (x-kubernetes-validations) that failed on an object.
  void Cel(const std::string& path, const std::string& message) {
    r_.add({Type::kInvalid, path, "\"object\"", message});
  }

 private:
  Reader& r_;
};

// How many of `keys` are set (present and not null) in `obj`.
size_t CountMembers(Reader& r, const json& obj, std::initializer_list<const char*> keys) {
  size_t n = 0;
  for (const char* k : keys) n += r.member(obj, k) != nullptr;
  return n;
}

// A label selector, validated as metav1 (the implementations convert it with
// LabelSelectorAsSelector, which refuses what ValidateLabelSelector refuses).
LabelSelector Selector(Reader& r, const json& j, const std::string& path, FieldErrors* errors) {
  const size_t before = r.error_count();
  LabelSelector sel = ReadSelector(r, j, path);
  if (r.error_count() == before) ValidateLabelSelector(sel, path, errors);
  return sel;
}

// NamespacedPod: namespaceSelector (optional, empty = all namespaces), podSelector (required).
NamespacedPodSelector NamespacedPods(Reader& r, Schema& s, const json& j, const std::string& path,
                                     FieldErrors* errors) {
  NamespacedPodSelector out;
  if (!r.object(j, path)) return out;
  if (const json* ns = r.member(j, "namespaceSelector")) {
    out.namespace_selector = Selector(r, *ns, path + ".namespaceSelector", errors);
  }
  if (const json* pods = s.Need(j, "podSelector", path + ".podSelector")) {
    out.pod_selector = Selector(r, *pods, path + ".podSelector", errors);
  }
  return out;
}

// isCIDR(self) with maxLength 43.
void CheckCidr(Schema& s, Reader& r, const std::string& path, const std::string& cidr) {
  s.MaxLength(path, cidr, 43);
  if (!IpPrefix::Parse(cidr)) r.add({Type::kInvalid, path, "\"string\"", "Invalid CIDR format provided"});
}

constexpr const char* kDomainPattern =
    R"(^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$)";

// A list of strings with listType=set, minItems 1, maxItems 25, each checked by `check`.
template <typename Check>
std::vector<std::string> StringSet(Reader& r, Schema& s, const json& obj, const char* key, const std::string& path,
                                   Check&& check) {
  std::vector<std::string> out = r.strings(obj, key, path);
  if (const json* m = r.member(obj, key); m && m->is_array()) s.Items(path, m->size(), 1, 25);
  std::set<std::string> seen;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!seen.insert(out[i]).second) r.add({Type::kDuplicate, Index(path, i), Quote(out[i]), ""});
    check(Index(path, i), out[i]);
  }
  return out;
}

// One element of `from` (ingress) or `to` (egress).
ClusterPeer Peer(Reader& r, Schema& s, const json& j, const std::string& path, bool egress, const Version& v,
                 FieldErrors* errors) {
  ClusterPeer peer;
  if (!r.object(j, path)) return peer;
  // BaselineAdminNetworkPolicy egress peers have no domainNames: one there is an unknown field.
  const bool domains = egress && !v.baseline_v1alpha1;
  const size_t known = egress ? CountMembers(r, j, {"namespaces", "pods", "nodes", "networks"}) +
                                    (domains ? CountMembers(r, j, {"domainNames"}) : 0)
                              : CountMembers(r, j, {"namespaces", "pods"});
  if (known == 0 && !j.empty()) {
    peer.kind = ClusterPeer::Kind::kUnknown;  // a newer CRD's peer: fails closed (model.h)
    return peer;
  }
  s.ExactlyOne(path, known);
  if (const json* ns = r.member(j, "namespaces")) {
    peer.kind = ClusterPeer::Kind::kNamespaces;
    peer.selector = Selector(r, *ns, path + ".namespaces", errors);
  } else if (const json* pods = r.member(j, "pods")) {
    peer.kind = ClusterPeer::Kind::kPods;
    peer.pods = NamespacedPods(r, s, *pods, path + ".pods", errors);
  } else if (const json* nodes = egress ? r.member(j, "nodes") : nullptr) {
    peer.kind = ClusterPeer::Kind::kNodes;
    peer.selector = Selector(r, *nodes, path + ".nodes", errors);
  } else if (egress && r.member(j, "networks")) {
    peer.kind = ClusterPeer::Kind::kNetworks;
    peer.values = StringSet(r, s, j, "networks", path + ".networks",
                            [&](const std::string& p, const std::string& cidr) { CheckCidr(s, r, p, cidr); });
  } else if (domains && r.member(j, "domainNames")) {
    peer.kind = ClusterPeer::Kind::kDomainNames;
    static const std::regex kPattern(kDomainPattern);
    peer.values =
        StringSet(r, s, j, "domainNames", path + ".domainNames", [&](const std::string& p, const std::string& d) {
          if (!std::regex_match(d, kPattern)) {
            r.add({Type::kInvalid, p, Quote(d), p + " in body should match '" + kDomainPattern + "'"});
          }
        });
  }
  return peer;
}

// destinationPort (v1alpha2): exactly one of number, range {start, end} with start < end.
void DestinationPort(Reader& r, Schema& s, const json& j, const std::string& path, ClusterPort* out) {
  if (!r.object(j, path)) return;
  s.ExactlyOne(path, CountMembers(r, j, {"number", "range"}));
  if (auto n = r.integer(j, "number", path + ".number")) {
    s.Bounds(path + ".number", *n, 1, 65535);
    out->first = out->last = *n;
  } else if (const json* range = r.member(j, "range")) {
    const std::string rp = path + ".range";
    if (!r.object(*range, rp)) return;
    auto start = r.integer(*range, "start", rp + ".start");
    auto end = r.integer(*range, "end", rp + ".end");
    if (!r.member(*range, "start")) s.Required(rp + ".start");
    if (!r.member(*range, "end")) s.Required(rp + ".end");
    bool ok = start && end;
    if (start) ok &= s.Bounds(rp + ".start", *start, 1, 65535);
    if (end) ok &= s.Bounds(rp + ".end", *end, 1, 65535);
    if (ok && !(*start < *end)) s.Cel(rp, "Start port must be less than End port");
    out->first = start.value_or(0);
    out->last = end.value_or(0);
  }
}

// One element of `protocols` (v1alpha2): exactly one of tcp, udp, sctp, destinationNamedPort.
ClusterPort ProtocolEntry(Reader& r, Schema& s, const json& j, const std::string& path) {
  ClusterPort port;
  if (!r.object(j, path)) return port;
  s.ExactlyOne(path, CountMembers(r, j, {"tcp", "udp", "sctp", "destinationNamedPort"}));
  static const std::pair<const char*, Protocol> kProtocols[] = {
      {"tcp", Protocol::kTCP}, {"udp", Protocol::kUDP}, {"sctp", Protocol::kSCTP}};
  for (const auto& [key, proto] : kProtocols) {
    const json* m = r.member(j, key);
    if (!m) continue;
    port.protocol = proto;
    const std::string pp = path + "." + key;
    if (!r.object(*m, pp)) return port;
    // minProperties 1: destinationPort is its only member.
    const json* dp = r.member(*m, "destinationPort");
    if (!dp) {
      r.add({Type::kInvalid, pp, "0", pp + " in body should have at least 1 properties"});
      return port;
    }
    DestinationPort(r, s, *dp, pp + ".destinationPort", &port);
    return port;
  }
  if (auto name = r.string(j, "destinationNamedPort", path + ".destinationNamedPort")) port.named_port = *name;
  return port;
}

// One element of `ports` (v1alpha1): exactly one of portNumber {protocol = TCP, port},
// portRange {protocol = TCP, start, end}, namedPort.
ClusterPort PortEntry(Reader& r, Schema& s, const json& j, const std::string& path) {
  ClusterPort port;
  if (!r.object(j, path)) return port;
  s.ExactlyOne(path, CountMembers(r, j, {"portNumber", "portRange", "namedPort"}));
  auto protocol = [&](const json& obj, const std::string& p) {
    std::string name = r.string(obj, "protocol", p + ".protocol").value_or("TCP");
    if (auto proto = ParseProtocol(name)) {
      port.protocol = *proto;
    } else {
      s.Enum(p + ".protocol", name, {"TCP", "UDP", "SCTP"});
    }
  };
  if (const json* number = r.member(j, "portNumber")) {
    const std::string pp = path + ".portNumber";
    if (!r.object(*number, pp)) return port;
    protocol(*number, pp);
    if (auto n = r.integer(*number, "port", pp + ".port")) {
      s.Bounds(pp + ".port", *n, 1, 65535);
      port.first = port.last = *n;
    } else if (!r.member(*number, "port")) {
      s.Required(pp + ".port");
    }
  } else if (const json* m = r.member(j, "portRange")) {
    const std::string pp = path + ".portRange";
    if (!r.object(*m, pp)) return port;
    protocol(*m, pp);
    auto start = r.integer(*m, "start", pp + ".start");
    auto end = r.integer(*m, "end", pp + ".end");
    if (!r.member(*m, "start")) s.Required(pp + ".start");
    if (!r.member(*m, "end")) s.Required(pp + ".end");
    if (start) s.Bounds(pp + ".start", *start, 1, 65535);
    if (end) s.Bounds(pp + ".end", *end, 1, 65535);
    // v1alpha1 has no CEL rule on the order: a range with start > end is valid and empty.
    port.first = start.value_or(0);
    port.last = end.value_or(0);
  } else if (auto name = r.string(j, "namedPort", path + ".namedPort")) {
    port.named_port = *name;
  }
  return port;
}

ClusterRule Rule(Reader& r, Schema& s, const json& j, const std::string& path, bool egress, const Version& v,
                 FieldErrors* errors) {
  ClusterRule rule;
  if (!r.object(j, path)) return rule;
  rule.name = r.string(j, "name", path + ".name").value_or("");
  s.MaxLength(path + ".name", rule.name, 100);
  if (const json* a = s.Need(j, "action", path + ".action")) {
    if (!a->is_string()) {
      r.mismatch(path + ".action", *a, "string");
    } else {
      const std::string action = a->get<std::string>();
      const char* accept = v.v1alpha1 ? "Allow" : "Accept";
      if (action == accept) {
        rule.action = RuleAction::kAccept;
      } else if (action == "Deny") {
        rule.action = RuleAction::kDeny;
      } else if (action == "Pass" && !v.baseline_v1alpha1) {
        rule.action = RuleAction::kPass;
      } else if (v.baseline_v1alpha1) {
        s.Enum(path + ".action", action, {"Allow", "Deny"});
      } else {
        s.Enum(path + ".action", action, {accept, "Deny", "Pass"});
      }
    }
  }
  const char* peers_key = egress ? "to" : "from";
  const std::string peers_path = path + "." + peers_key;
  if (const json* m = s.Need(j, peers_key, peers_path); m && m->is_array())
    s.Items(peers_path, m->size(), 1, v.max_peers);
  r.array(j, peers_key, peers_path,
          [&](const json& e, const std::string& p) { rule.peers.push_back(Peer(r, s, e, p, egress, v, errors)); });
  const std::string ports_path = path + "." + v.ports_key;
  if (const json* m = r.member(j, v.ports_key); m && m->is_array()) s.Items(ports_path, m->size(), 1, v.max_ports);
  r.array(j, v.ports_key, ports_path, [&](const json& e, const std::string& p) {
    rule.ports.push_back(v.v1alpha1 ? PortEntry(r, s, e, p) : ProtocolEntry(r, s, e, p));
  });
  // The egress rule's CEL rule: no named port towards peers that have none.
  if (egress) {
    bool non_pod_peer = false, named = false;
    for (const ClusterPeer& peer : rule.peers) {
      non_pod_peer |= peer.kind == ClusterPeer::Kind::kNetworks || peer.kind == ClusterPeer::Kind::kNodes ||
                      (peer.kind == ClusterPeer::Kind::kDomainNames);
    }
    for (const ClusterPort& port : rule.ports) named |= !port.named_port.empty();
    if (non_pod_peer && named) {
      s.Cel(path, v.baseline_v1alpha1
                      ? "networks/nodes peer cannot be set with namedPorts since there are no namedPorts for "
                        "networks/nodes"
                      : "networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts "
                        "for networks/nodes/domainNames");
    }
  }
  return rule;
}

}  // namespace

bool IsClusterPolicyKind(const std::string& kind) {
  return kind == "ClusterNetworkPolicy" || kind == "AdminNetworkPolicy" || kind == "BaselineAdminNetworkPolicy";
}

std::optional<ClusterNetworkPolicy> DecodeClusterPolicy(const json& j, const std::string& kind, FieldErrors* errors) {
  Reader r(errors);
  Schema s(r);
  const size_t before = errors->size();
  Version v;
  v.v1alpha1 = kind != "ClusterNetworkPolicy";
  v.baseline_v1alpha1 = kind == "BaselineAdminNetworkPolicy";
  if (v.v1alpha1) {
    v.max_rules = v.max_peers = v.max_ports = 100;
    v.ports_key = "ports";
  }

  ClusterNetworkPolicy cnp;
  cnp.kind = kind;
  cnp.meta = ReadMeta(r, j);
  if (errors->size() == before) ValidateObjectMeta(cnp.meta, /*namespaced=*/false, errors);
  ValidateEnforcement(cnp.meta, errors);
  if (v.baseline_v1alpha1 && !cnp.meta.name.empty() && cnp.meta.name != "default") {
    s.Cel("metadata.name",
          "Only one baseline admin network policy with metadata.name=\"default\" can be created in the cluster");
  }
  const json* spec = s.Need(j, "spec", "spec");
  if (spec == nullptr || !r.object(*spec, "spec")) return std::nullopt;

  if (kind == "ClusterNetworkPolicy") {
    if (const json* t = s.Need(*spec, "tier", "spec.tier")) {
      if (!t->is_string()) {
        r.mismatch("spec.tier", *t, "string");
      } else if (*t == "Admin") {
        cnp.tier = Tier::kAdmin;
      } else if (*t == "Baseline") {
        cnp.tier = Tier::kBaseline;
      } else {
        s.Enum("spec.tier", t->get<std::string>(), {"Admin", "Baseline"});
      }
    }
  } else {
    cnp.tier = v.baseline_v1alpha1 ? Tier::kBaseline : Tier::kAdmin;
  }
  if (v.baseline_v1alpha1) {
    cnp.priority = 1000;
  } else if (s.Need(*spec, "priority", "spec.priority")) {
    if (auto p = r.integer(*spec, "priority", "spec.priority"); p && s.Bounds("spec.priority", *p, 0, 1000)) {
      cnp.priority = static_cast<int32_t>(*p);
    }
  }
  if (const json* subject = s.Need(*spec, "subject", "spec.subject"); subject && r.object(*subject, "spec.subject")) {
    s.ExactlyOne("spec.subject", CountMembers(r, *subject, {"namespaces", "pods"}));
    if (const json* ns = r.member(*subject, "namespaces")) {
      cnp.subject.namespace_selector = Selector(r, *ns, "spec.subject.namespaces", errors);
    } else if (const json* pods = r.member(*subject, "pods")) {
      cnp.subject_is_pods = true;
      cnp.subject = NamespacedPods(r, s, *pods, "spec.subject.pods", errors);
    }
  }
  for (const bool egress : {false, true}) {
    const char* key = egress ? "egress" : "ingress";
    const std::string path = std::string("spec.") + key;
    if (const json* m = r.member(*spec, key); m && m->is_array() && m->size() > v.max_rules) {
      s.Items(path, m->size(), 0, v.max_rules);
    }
    auto& rules = egress ? cnp.egress : cnp.ingress;
    r.array(*spec, key, path,
            [&](const json& e, const std::string& p) { rules.push_back(Rule(r, s, e, p, egress, v, errors)); });
  }
  if (errors->size() != before) return std::nullopt;
  return cnp;
}

}  // namespace netfence::k8s
