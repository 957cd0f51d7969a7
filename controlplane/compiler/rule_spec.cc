// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/rule_spec.h"

#include <algorithm>
#include <tuple>

#include "common/tables/wire.h"

namespace netfence::compiler {
namespace {

PeerSet Peers(const k8s::NetworkPolicy& np, const k8s::NetworkPolicyRule& rule, const PeerSelector& selector) {
  PeerSet ps;
  ps.everyone = rule.peers.empty();
  for (const auto& peer : rule.peers) {
    if (peer.ip_block) {
      CidrBlock block{*IpPrefix::Parse(peer.ip_block->cidr), {}, 0};
      for (const auto& e : peer.ip_block->except) block.except.push_back(*IpPrefix::Parse(e));
      ExcludeV4Mapped(&block);
      ps.blocks.push_back(std::move(block));
    } else {
      selector.SelectPeer(peer, np.meta.ns, &ps.all_pods, &ps.identities);
    }
  }
  if (ps.all_pods) {
    ps.identities.clear();
  } else {
    std::sort(ps.identities.begin(), ps.identities.end());
    ps.identities.erase(std::unique(ps.identities.begin(), ps.identities.end()), ps.identities.end());
  }
  return ps;
}

bool SameBlock(const CidrBlock& a, const CidrBlock& b) {
  return a.cidr == b.cidr && a.except == b.except && a.rule_bit == b.rule_bit;
}

bool SameSpan(const PortSpan& a, const PortSpan& b) {
  return std::tie(a.protocol, a.first, a.last, a.rule_bit) == std::tie(b.protocol, b.first, b.last, b.rule_bit);
}

}  // namespace

bool PeerSet::operator==(const PeerSet& o) const {
  return everyone == o.everyone && all_pods == o.all_pods && identities == o.identities &&
         std::equal(blocks.begin(), blocks.end(), o.blocks.begin(), o.blocks.end(), SameBlock);
}

bool RuleSpec::operator==(const RuleSpec& o) const {
  return peers == o.peers && every_port == o.every_port && named == o.named && flags == o.flags &&
         std::equal(numeric.begin(), numeric.end(), o.numeric.begin(), o.numeric.end(), SameSpan);
}

bool PolicySpec::operator==(const PolicySpec& o) const {
  return audit == o.audit && covers[0] == o.covers[0] && covers[1] == o.covers[1] && named_ingress == o.named_ingress &&
         rules[0] == o.rules[0] && rules[1] == o.rules[1];
}

bool Audited(const k8s::ObjectMeta& policy, const k8s::Namespace* ns, bool audit_by_default) {
  k8s::Enforcement mode = policy.EnforcementMode();
  if (mode == k8s::Enforcement::kUnset && ns) mode = ns->meta.EnforcementMode();
  if (mode == k8s::Enforcement::kUnset) return audit_by_default;
  return mode == k8s::Enforcement::kAudit;
}

PolicySpec DecodePolicy(const k8s::NetworkPolicy& np, const PeerSelector& selector, bool audit) {
  PolicySpec spec;
  spec.audit = audit;
  for (k8s::Direction dir : {k8s::Direction::kIngress, k8s::Direction::kEgress}) {
    const int d = static_cast<int>(dir);
    spec.covers[d] = np.Covers(dir);
    if (!spec.covers[d]) continue;
    for (const auto& rule : np.Rules(dir)) {
      RuleSpec rs;
      rs.flags = audit ? tables::kRuleAudit : 0;
      rs.peers = Peers(np, rule, selector);
      rs.every_port = rule.ports.empty();
      for (const auto& p : rule.ports) {
        auto proto = static_cast<uint8_t>(p.protocol_or_default());
        if (!p.port) {
          rs.numeric.push_back({proto, 0, 65535, 0});
        } else if (p.port->is_int) {
          auto first = static_cast<uint16_t>(p.port->int_value);
          rs.numeric.push_back({proto, first, static_cast<uint16_t>(p.end_port.value_or(first)), 0});
        } else {
          rs.named.emplace_back(p.port->str_value, proto);
          spec.named_ingress |= dir == k8s::Direction::kIngress;
        }
      }
      spec.rules[d].push_back(std::move(rs));
    }
  }
  return spec;
}

bool ClusterPolicySpec::operator==(const ClusterPolicySpec& o) const {
  return audit == o.audit && named_ingress == o.named_ingress && rules[0] == o.rules[0] && rules[1] == o.rules[1];
}

std::optional<std::pair<uint8_t, uint16_t>> ResolveNamed(const k8s::Pod& pod, const std::string& name, uint8_t proto) {
  if (proto == kAnyProtocol) {
    auto r = pod.ResolveNamedPort(name);
    if (!r) return std::nullopt;
    return std::pair(static_cast<uint8_t>(r->first), r->second);
  }
  auto n = pod.ResolveNamedPort(name, static_cast<k8s::Protocol>(proto));
  if (!n) return std::nullopt;
  return std::pair(proto, *n);
}

namespace {

uint32_t ActionFlags(k8s::RuleAction a) {
  switch (a) {
    case k8s::RuleAction::kAccept:
      return tables::kRuleAccept;
    case k8s::RuleAction::kDeny:
      return tables::kRuleDeny;
    case k8s::RuleAction::kPass:
      return tables::kRulePass;
  }
  return tables::kRuleDeny;
}

PeerSet ClusterPeers(const k8s::ClusterRule& rule, const PeerSelector& selector) {
  PeerSet ps;
  std::vector<IpAddr> nodes;
  for (const auto& peer : rule.peers) {
    switch (peer.kind) {
      case k8s::ClusterPeer::Kind::kNamespaces: {
        k8s::NetworkPolicyPeer np;
        np.namespace_selector = peer.selector;
        selector.SelectPeer(np, "", &ps.all_pods, &ps.identities);
        break;
      }
      case k8s::ClusterPeer::Kind::kPods: {
        k8s::NetworkPolicyPeer np;
        np.namespace_selector = peer.pods.namespace_selector;
        np.pod_selector = peer.pods.pod_selector;
        selector.SelectPeer(np, "", &ps.all_pods, &ps.identities);
        break;
      }
      case k8s::ClusterPeer::Kind::kNodes:
        selector.SelectNodeAddresses(peer.selector, &nodes);
        break;
      case k8s::ClusterPeer::Kind::kNetworks:
        for (const auto& cidr : peer.values) {
          CidrBlock block{*IpPrefix::Parse(cidr), {}, 0};
          ExcludeV4Mapped(&block);
          ps.blocks.push_back(std::move(block));
        }
        break;
      case k8s::ClusterPeer::Kind::kDomainNames:  // no names are resolved: nothing matches
      case k8s::ClusterPeer::Kind::kUnknown:      // an Accept rule's unknown peer matches nothing
        break;
    }
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  for (const IpAddr& a : nodes) ps.blocks.push_back({IpPrefix::Host(a), {}, 0});
  if (ps.all_pods) {
    ps.identities.clear();
  } else {
    std::sort(ps.identities.begin(), ps.identities.end());
    ps.identities.erase(std::unique(ps.identities.begin(), ps.identities.end()), ps.identities.end());
  }
  return ps;
}

}  // namespace

ClusterPolicySpec DecodeClusterPolicy(const k8s::ClusterNetworkPolicy& cnp, const PeerSelector& selector, bool audit) {
  ClusterPolicySpec spec;
  spec.audit = audit;
  const uint32_t audit_flag = audit ? tables::kRuleAudit : 0;
  for (k8s::Direction dir : {k8s::Direction::kIngress, k8s::Direction::kEgress}) {
    const int d = static_cast<int>(dir);
    for (const auto& rule : cnp.Rules(dir)) {
      RuleSpec rs;
      rs.flags = ActionFlags(rule.action) | audit_flag;
      if (rule.FailsClosed() && rule.action != k8s::RuleAction::kAccept) {
        // "Treat the rule as a 'Deny all' rule."
        rs.flags = tables::kRuleDeny | audit_flag;
        rs.peers.everyone = true;
        rs.every_port = true;
        spec.rules[d].push_back(std::move(rs));
        continue;
      }
      rs.peers = ClusterPeers(rule, selector);
      rs.every_port = rule.ports.empty();
      for (const auto& p : rule.ports) {
        if (!p.named_port.empty()) {
          rs.named.emplace_back(p.named_port, kAnyProtocol);
          spec.named_ingress |= dir == k8s::Direction::kIngress;
        } else if (p.first <= p.last) {  // v1alpha1 allows an empty range: it matches nothing
          rs.numeric.push_back(
              {static_cast<uint8_t>(p.protocol), static_cast<uint16_t>(p.first), static_cast<uint16_t>(p.last), 0});
        }
      }
      spec.rules[d].push_back(std::move(rs));
    }
  }
  return spec;
}

}  // namespace netfence::compiler
