// SPDX-License-Identifier: Apache-2.0
#include "tests/differential/reference_evaluator.h"

#include <algorithm>
#include <tuple>
#include <vector>

namespace netfence::reference {

namespace {

using k8s::ClusterState;
using k8s::Labels;
using k8s::LabelSelector;
using k8s::NetworkPolicy;
using k8s::NetworkPolicyPeer;
using k8s::NetworkPolicyPort;
using k8s::NetworkPolicyRule;
using k8s::Pod;

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kSctp = 132;

// --- Objects -------------------------------------------------------------------------

// The pod that lists `ip` among its IPs (any pod, endpoint or not).
const Pod* PodOwning(const ClusterState& state, const IpAddr& ip) {
  for (const Pod& pod : state.pods) {
    for (const std::string& text : pod.pod_ips) {
      auto parsed = IpAddr::Parse(text);
      if (parsed && *parsed == ip) return &pod;
    }
  }
  return nullptr;
}

// Endpoint: not host-network, has an IP, has not finished.
bool IsEndpoint(const Pod& pod) {
  return !pod.host_network && !pod.pod_ips.empty() && pod.phase != "Succeeded" && pod.phase != "Failed";
}

const Pod* EndpointOwning(const ClusterState& state, const IpAddr& ip) {
  const Pod* pod = PodOwning(state, ip);
  return pod != nullptr && IsEndpoint(*pod) ? pod : nullptr;
}

// The labels a namespaceSelector sees: the Namespace object's labels (if there is one)
// plus kubernetes.io/metadata.name, which the API server sets on every namespace.
Labels NamespaceLabels(const ClusterState& state, const std::string& name) {
  Labels labels;
  for (const auto& ns : state.namespaces) {
    if (ns.meta.name == name) labels = ns.meta.labels;
  }
  labels["kubernetes.io/metadata.name"] = name;
  return labels;
}

// --- Selectors -----------------------------------------------------------------------

bool RequirementMatches(const k8s::LabelSelectorRequirement& req, const Labels& labels) {
  auto it = labels.find(req.key);
  const bool has_key = it != labels.end();
  const bool value_listed = has_key && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
  if (req.op == "In") return value_listed;
  if (req.op == "NotIn") return !value_listed;  // a pod without the key is "not in"
  if (req.op == "Exists") return has_key;
  if (req.op == "DoesNotExist") return !has_key;
  return false;  // unknown operators never appear in valid objects
}

// Every matchLabels pair and every requirement must hold; the empty selector matches all.
bool SelectorMatches(const LabelSelector& sel, const Labels& labels) {
  for (const auto& [key, value] : sel.match_labels) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  for (const auto& req : sel.match_expressions) {
    if (!RequirementMatches(req, labels)) return false;
  }
  return true;
}

// --- Policy types ----------------------------------------------------------------------

bool Listed(const std::vector<std::string>& types, const char* type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

// policyTypes after defaulting: absent = Ingress, plus Egress when there are egress rules.
bool CoversIngress(const NetworkPolicy& np) { return np.policy_types.empty() || Listed(np.policy_types, "Ingress"); }
bool CoversEgress(const NetworkPolicy& np) {
  return np.policy_types.empty() ? !np.egress.empty() : Listed(np.policy_types, "Egress");
}

// --- Rules -----------------------------------------------------------------------------

// CIDR membership within one address family: an IPv4 block never holds an IPv6 address
// and an IPv6 block (even ::/0) never holds an IPv4 one.
bool CidrContains(const std::string& cidr, const IpAddr& ip) {
  const bool cidr_is_v6 = cidr.find(':') != std::string::npos;
  if (cidr_is_v6 == ip.is_v4()) return false;
  auto prefix = IpPrefix::Parse(cidr);
  return prefix && prefix->contains(ip);
}

// The connection as one rule sees it: the peer on the other side, and the pod the
// connection is addressed to (the destination, whose named ports count).
struct Connection {
  const NetworkPolicy* policy;
  IpAddr peer_ip;
  const Pod* peer_endpoint;  // null when the peer IP is not an endpoint
  const Pod* dest_endpoint;  // null when the destination IP is not an endpoint
  uint8_t proto;
  uint16_t dport;
};

bool PeerMatches(const ClusterState& state, const NetworkPolicyPeer& peer, const Connection& c) {
  if (peer.ip_block) {
    if (!CidrContains(peer.ip_block->cidr, c.peer_ip)) return false;
    for (const std::string& hole : peer.ip_block->except) {
      if (CidrContains(hole, c.peer_ip)) return false;
    }
    return true;
  }
  if (!peer.pod_selector && !peer.namespace_selector) return false;  // not a valid peer
  if (c.peer_endpoint == nullptr) return false;                      // selectors only ever select endpoints
  const Pod& pod = *c.peer_endpoint;
  if (peer.namespace_selector) {
    if (!SelectorMatches(*peer.namespace_selector, NamespaceLabels(state, pod.meta.ns))) return false;
  } else if (pod.meta.ns != c.policy->meta.ns) {
    return false;  // a podSelector alone looks in the policy's own namespace
  }
  return !peer.pod_selector || SelectorMatches(*peer.pod_selector, pod.meta.labels);
}

// IANA number of a NetworkPolicyPort or ContainerPort protocol (absent/empty = TCP);
// 0 for anything else, which matches no packet.
uint8_t ProtocolNumber(const std::string& name) {
  if (name.empty() || name == "TCP") return kTcp;
  if (name == "UDP") return kUdp;
  if (name == "SCTP") return kSctp;
  return 0;
}

bool PortMatches(const NetworkPolicyPort& port, const Connection& c) {
  const uint8_t proto = ProtocolNumber(port.protocol.value_or("TCP"));
  if (proto == 0 || proto != c.proto) return false;
  if (!port.port) return true;  // every port of the protocol
  if (port.port->is_int) {
    const int64_t first = port.port->int_value;
    const int64_t last = port.end_port.value_or(first);
    return first <= c.dport && c.dport <= last;
  }
  // A named port: the destination pod must declare it, for this protocol, with this number.
  if (c.dest_endpoint == nullptr) return false;
  for (const auto& cp : c.dest_endpoint->ports) {
    if (cp.name == port.port->str_value && ProtocolNumber(cp.protocol) == proto && cp.container_port == c.dport) {
      return true;
    }
  }
  return false;
}

bool RuleMatches(const ClusterState& state, const NetworkPolicyRule& rule, const Connection& c) {
  const bool peer_ok = rule.peers.empty() || std::any_of(rule.peers.begin(), rule.peers.end(),
                                                         [&](const auto& p) { return PeerMatches(state, p, c); });
  const bool port_ok = rule.ports.empty() || std::any_of(rule.ports.begin(), rule.ports.end(),
                                                         [&](const auto& p) { return PortMatches(p, c); });
  return peer_ok && port_ok;
}

// NetworkPolicy rules: the one with the smallest (namespace, name, index) is reported.
bool Before(const RefRule& a, const RefRule& b) {
  return std::tie(a.policy_ns, a.policy_name, a.rule_index) < std::tie(b.policy_ns, b.policy_name, b.rule_index);
}

// --- ClusterNetworkPolicy ----------------------------------------------------------------

// The connection as a cluster policy rule sees it.
struct ClusterConnection {
  IpAddr peer_ip;
  const Pod* peer_endpoint;  // null when the peer IP is not an endpoint (host-network pods are not)
  const Pod* dest_endpoint;  // whose named ports count
  uint8_t proto;
  uint16_t dport;
};

bool ClusterPeerMatches(const ClusterState& state, const k8s::ClusterPeer& peer, const ClusterConnection& c) {
  using Kind = k8s::ClusterPeer::Kind;
  switch (peer.kind) {
    case Kind::kNamespaces:
      return c.peer_endpoint != nullptr &&
             SelectorMatches(peer.selector, NamespaceLabels(state, c.peer_endpoint->meta.ns));
    case Kind::kPods:
      return c.peer_endpoint != nullptr &&
             SelectorMatches(peer.pods.namespace_selector, NamespaceLabels(state, c.peer_endpoint->meta.ns)) &&
             SelectorMatches(peer.pods.pod_selector, c.peer_endpoint->meta.labels);
    case Kind::kNodes:
      // The addresses of the selected nodes (so host-network pods on them too).
      for (const k8s::Node& node : state.nodes) {
        if (!SelectorMatches(peer.selector, node.meta.labels)) continue;
        for (const std::string& ip : node.internal_ips) {
          if (IpAddr::Parse(ip) == c.peer_ip) return true;
        }
      }
      return false;
    case Kind::kNetworks:
      // Any address, pod IPs included.
      return std::any_of(peer.values.begin(), peer.values.end(),
                         [&](const std::string& cidr) { return CidrContains(cidr, c.peer_ip); });
    case Kind::kDomainNames:  // names are not resolved: nothing is known to be them
    case Kind::kUnknown:      // the rule fails closed (see ClusterRuleMatches)
      return false;
  }
  return false;
}

bool ClusterPortMatches(const k8s::ClusterPort& port, const ClusterConnection& c) {
  if (port.named_port.empty()) {
    return static_cast<uint8_t>(port.protocol) == c.proto && port.first <= c.dport && c.dport <= port.last;
  }
  // The destination pod's first containerPort of that name, with its own protocol.
  if (c.dest_endpoint == nullptr) return false;
  for (const auto& cp : c.dest_endpoint->ports) {
    if (cp.name != port.named_port) continue;
    return ProtocolNumber(cp.protocol) == c.proto && cp.container_port == c.dport;
  }
  return false;
}

bool ClusterRuleMatches(const ClusterState& state, const k8s::ClusterRule& rule, const ClusterConnection& c) {
  // "For Deny and Pass rules, fail closed means: treat the rule as a 'Deny all' rule."
  if (rule.FailsClosed() && rule.action != k8s::RuleAction::kAccept) return true;
  const bool peer_ok =
      std::any_of(rule.peers.begin(), rule.peers.end(), [&](const auto& p) { return ClusterPeerMatches(state, p, c); });
  const bool port_ok = rule.ports.empty() || std::any_of(rule.ports.begin(), rule.ports.end(),
                                                         [&](const auto& p) { return ClusterPortMatches(p, c); });
  return peer_ok && port_ok;
}

// The cluster policies of `tier` whose subject selects `pod`, in evaluation order: priority,
// then name, then kind.
std::vector<const k8s::ClusterNetworkPolicy*> TierPolicies(const ClusterState& state, k8s::Tier tier, const Pod& pod) {
  std::vector<const k8s::ClusterNetworkPolicy*> out;
  for (const auto& cnp : state.cluster_policies) {
    if (cnp.tier != tier) continue;
    if (!SelectorMatches(cnp.subject.namespace_selector, NamespaceLabels(state, pod.meta.ns))) continue;
    if (!SelectorMatches(cnp.subject.pod_selector, pod.meta.labels)) continue;
    out.push_back(&cnp);
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return std::tie(a->priority, a->meta.name, a->kind) < std::tie(b->priority, b->meta.name, b->kind);
  });
  return out;
}

enum class TierResult { kAccept, kDeny, kNone };  // kNone: nothing matched, or a Pass

// The first matching rule of the tier decides; Pass ends the tier without a decision.
TierResult EvaluateTier(const ClusterState& state, k8s::Tier tier, k8s::Direction dir, const Pod& subject,
                        const ClusterConnection& c, std::optional<RefRule>* rule) {
  for (const k8s::ClusterNetworkPolicy* cnp : TierPolicies(state, tier, subject)) {
    const auto& rules = dir == k8s::Direction::kIngress ? cnp->ingress : cnp->egress;
    for (uint32_t i = 0; i < rules.size(); ++i) {
      if (!ClusterRuleMatches(state, rules[i], c)) continue;
      k8s::RuleAction action = rules[i].action;
      if (rules[i].FailsClosed() && action != k8s::RuleAction::kAccept) action = k8s::RuleAction::kDeny;
      if (action == k8s::RuleAction::kPass) return TierResult::kNone;
      *rule = RefRule{cnp->kind, "", cnp->meta.name, i};
      return action == k8s::RuleAction::kAccept ? TierResult::kAccept : TierResult::kDeny;
    }
  }
  return TierResult::kNone;
}

// One direction of the endpoint `subject` (null: not an endpoint, so never isolated).
RefDirection EvaluateDirection(const ClusterState& state, k8s::Direction dir, const Pod* subject, Connection c) {
  RefDirection out;
  if (subject == nullptr) return out;
  const ClusterConnection cc{c.peer_ip, c.peer_endpoint, c.dest_endpoint, c.proto, c.dport};
  const bool ingress = dir == k8s::Direction::kIngress;
  for (const NetworkPolicy& np : state.policies) {
    if (np.meta.ns == subject->meta.ns && SelectorMatches(np.pod_selector, subject->meta.labels) &&
        (ingress ? CoversIngress(np) : CoversEgress(np))) {
      out.isolated = true;
    }
  }
  // Admin tier.
  switch (EvaluateTier(state, k8s::Tier::kAdmin, dir, *subject, cc, &out.rule)) {
    case TierResult::kAccept:
      return out;
    case TierResult::kDeny:
      out.allowed = false;
      return out;
    case TierResult::kNone:
      break;
  }
  // NetworkPolicy tier: the smallest matching rule of the policies isolating the pod.
  for (const NetworkPolicy& np : state.policies) {
    if (np.meta.ns != subject->meta.ns || !SelectorMatches(np.pod_selector, subject->meta.labels)) continue;
    if (!(ingress ? CoversIngress(np) : CoversEgress(np))) continue;
    c.policy = &np;
    const auto& rules = ingress ? np.ingress : np.egress;
    for (uint32_t i = 0; i < rules.size(); ++i) {
      if (!RuleMatches(state, rules[i], c)) continue;
      RefRule rule{"", np.meta.ns, np.meta.name, i};
      if (!out.rule || Before(rule, *out.rule)) out.rule = rule;
    }
  }
  if (out.isolated) {
    out.allowed = out.rule.has_value();
    return out;
  }
  // Baseline tier, then the default: allowed.
  if (EvaluateTier(state, k8s::Tier::kBaseline, dir, *subject, cc, &out.rule) == TierResult::kDeny) {
    out.allowed = false;
  }
  return out;
}

}  // namespace

RefVerdict ReferenceEvaluate(const ClusterState& state, const IpAddr& src, const IpAddr& dst, uint8_t ip_proto,
                             uint16_t dport) {
  const Pod* src_pod = EndpointOwning(state, src);
  const Pod* dst_pod = EndpointOwning(state, dst);
  RefVerdict v;
  // The source's egress: the peer is the destination, whose named ports count.
  v.egress = EvaluateDirection(state, k8s::Direction::kEgress, src_pod,
                               Connection{nullptr, dst, dst_pod, dst_pod, ip_proto, dport});
  // The destination's ingress: the peer is the source; named ports are the destination's own.
  v.ingress = EvaluateDirection(state, k8s::Direction::kIngress, dst_pod,
                                Connection{nullptr, src, src_pod, dst_pod, ip_proto, dport});
  return v;
}

k8s::ClusterState WithoutPoliciesInAudit(const k8s::ClusterState& state, bool audit_by_default) {
  auto in_audit = [&](const std::string& own, const std::string* ns) {
    if (own == "audit" || own == "enforce") return own == "audit";
    if (ns != nullptr && (*ns == "audit" || *ns == "enforce")) return *ns == "audit";
    return audit_by_default;
  };
  k8s::ClusterState out = state;
  std::erase_if(out.policies, [&](const k8s::NetworkPolicy& np) {
    const std::string* ns = nullptr;
    for (const auto& n : state.namespaces) {
      if (n.meta.name == np.meta.ns) ns = &n.meta.enforcement;
    }
    return in_audit(np.meta.enforcement, ns);
  });
  std::erase_if(out.cluster_policies,
                [&](const k8s::ClusterNetworkPolicy& cnp) { return in_audit(cnp.meta.enforcement, nullptr); });
  return out;
}

}  // namespace netfence::reference
