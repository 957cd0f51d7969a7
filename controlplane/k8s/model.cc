// SPDX-License-Identifier: Apache-2.0
#include "controlplane/k8s/model.h"

#include <algorithm>

namespace netfence::k8s {

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

}  // namespace netfence::k8s
