// SPDX-License-Identifier: Apache-2.0
#include "controlplane/k8s/model.h"

#include <algorithm>
#include <tuple>

namespace netfence::k8s {

std::optional<Enforcement> ParseEnforcement(const std::string& value) {
  if (value.empty()) return Enforcement::kUnset;
  if (value == "enforce") return Enforcement::kEnforce;
  if (value == "audit") return Enforcement::kAudit;
  return std::nullopt;
}

std::optional<Protocol> ParseProtocol(const std::string& name) {
  if (name == "TCP") return Protocol::kTCP;
  if (name == "UDP") return Protocol::kUDP;
  if (name == "SCTP") return Protocol::kSCTP;
  return std::nullopt;
}

const char* ProtocolName(Protocol p) { return ProtocolName(static_cast<uint8_t>(p)); }

const char* ProtocolName(uint8_t ip_proto) {
  switch (ip_proto) {
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
      return "OTHER";
  }
}

const char* DirectionName(Direction d) { return d == Direction::kIngress ? "ingress" : "egress"; }

bool LabelSelector::Matches(const Labels& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& req : match_expressions) {
    auto it = labels.find(req.key);
    bool has = it != labels.end();
    bool in = has && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    if (req.op == "In" && !in) return false;
    if (req.op == "NotIn" && in) return false;  // pods lacking the key match NotIn
    if (req.op == "Exists" && !has) return false;
    if (req.op == "DoesNotExist" && has) return false;
  }
  return true;
}

std::string LabelSelector::str() const {
  if (empty()) return "<all>";
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ",") + s; };
  for (const auto& [k, v] : match_labels) add(k + "=" + v);
  for (const auto& r : match_expressions) {
    if (r.op == "Exists") {
      add(r.key);
    } else if (r.op == "DoesNotExist") {
      add("!" + r.key);
    } else {
      std::string vals;
      for (const auto& v : r.values) vals += (vals.empty() ? "" : ",") + v;
      add(r.key + (r.op == "In" ? " in (" : " notin (") + vals + ")");
    }
  }
  return out;
}

Protocol NetworkPolicyPort::protocol_or_default() const {
  if (!protocol) return Protocol::kTCP;
  return ParseProtocol(*protocol).value_or(Protocol::kTCP);
}

std::string NetworkPolicyPort::str() const {
  std::string out = ProtocolName(protocol_or_default());
  out += "/";
  if (!port) return out + "*";
  out += port->str();
  if (end_port) out += "-" + std::to_string(*end_port);
  return out;
}

std::string NetworkPolicyPeer::str() const {
  if (ip_block) {
    std::string out = "ipBlock " + ip_block->cidr;
    if (!ip_block->except.empty()) {
      out += " except ";
      for (size_t i = 0; i < ip_block->except.size(); ++i) out += (i ? "," : "") + ip_block->except[i];
    }
    return out;
  }
  std::string out;
  if (namespace_selector) out += "namespaces{" + namespace_selector->str() + "}";
  if (pod_selector) out += std::string(out.empty() ? "" : " ") + "pods{" + pod_selector->str() + "}";
  return out;
}

bool NetworkPolicy::CoversIngress() const {
  if (policy_types.empty()) return true;
  return std::find(policy_types.begin(), policy_types.end(), "Ingress") != policy_types.end();
}

bool NetworkPolicy::CoversEgress() const {
  if (policy_types.empty()) return !egress.empty();
  return std::find(policy_types.begin(), policy_types.end(), "Egress") != policy_types.end();
}

Labels Namespace::EffectiveLabels() const {
  Labels out = meta.labels;
  out["kubernetes.io/metadata.name"] = meta.name;
  return out;
}

bool Pod::IsEndpoint() const { return !host_network && !pod_ips.empty() && phase != "Succeeded" && phase != "Failed"; }

std::optional<uint16_t> Pod::ResolveNamedPort(const std::string& name, Protocol proto) const {
  for (const auto& p : ports) {
    if (p.name == name && ParseProtocol(p.protocol) == proto && p.container_port > 0 && p.container_port <= 65535) {
      return static_cast<uint16_t>(p.container_port);
    }
  }
  return std::nullopt;
}

std::optional<std::pair<Protocol, uint16_t>> Pod::ResolveNamedPort(const std::string& name) const {
  for (const auto& p : ports) {
    if (p.name != name) continue;
    auto proto = ParseProtocol(p.protocol);
    if (!proto || p.container_port <= 0 || p.container_port > 65535) return std::nullopt;
    return std::pair(*proto, static_cast<uint16_t>(p.container_port));
  }
  return std::nullopt;
}

const char* TierName(Tier t) { return t == Tier::kAdmin ? "Admin" : "Baseline"; }

const char* ActionName(RuleAction a) {
  switch (a) {
    case RuleAction::kAccept:
      return "Accept";
    case RuleAction::kDeny:
      return "Deny";
    case RuleAction::kPass:
      return "Pass";
  }
  return "?";
}

std::string ClusterPeer::str() const {
  auto list = [&](const char* what) {
    std::string out = std::string(what) + "[";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
    return out + "]";
  };
  switch (kind) {
    case Kind::kNamespaces:
      return "namespaces{" + selector.str() + "}";
    case Kind::kPods:
      return "pods{namespaces{" + pods.namespace_selector.str() + "} pods{" + pods.pod_selector.str() + "}}";
    case Kind::kNodes:
      return "nodes{" + selector.str() + "}";
    case Kind::kNetworks:
      return list("networks");
    case Kind::kDomainNames:
      return list("domainNames") + " (matches nothing: names are not resolved)";
    case Kind::kUnknown:
      return "<unknown peer kind: fails closed>";
  }
  return "?";
}

std::string ClusterPort::str() const {
  if (!named_port.empty()) return "named:" + named_port;
  std::string out = std::string(ProtocolName(protocol)) + "/" + std::to_string(first);
  if (last != first) out += "-" + std::to_string(last);
  return out;
}

bool ClusterRule::FailsClosed() const {
  return std::any_of(peers.begin(), peers.end(),
                     [](const ClusterPeer& p) { return p.kind == ClusterPeer::Kind::kUnknown; });
}

bool ClusterPolicyBefore(const ClusterNetworkPolicy& a, const ClusterNetworkPolicy& b) {
  return std::tie(a.tier, a.priority, a.meta.name, a.kind) < std::tie(b.tier, b.priority, b.meta.name, b.kind);
}

}  // namespace netfence::k8s
