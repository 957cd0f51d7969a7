// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/rule_spec.h"

#include <algorithm>
#include <tuple>

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
  return peers == o.peers && every_port == o.every_port && named == o.named &&
         std::equal(numeric.begin(), numeric.end(), o.numeric.begin(), o.numeric.end(), SameSpan);
}

bool PolicySpec::operator==(const PolicySpec& o) const {
  return covers[0] == o.covers[0] && covers[1] == o.covers[1] && named_ingress == o.named_ingress &&
         rules[0] == o.rules[0] && rules[1] == o.rules[1];
}

PolicySpec DecodePolicy(const k8s::NetworkPolicy& np, const PeerSelector& selector) {
  PolicySpec spec;
  for (k8s::Direction dir : {k8s::Direction::kIngress, k8s::Direction::kEgress}) {
    const int d = static_cast<int>(dir);
    spec.covers[d] = np.Covers(dir);
    if (!spec.covers[d]) continue;
    for (const auto& rule : np.Rules(dir)) {
      RuleSpec rs;
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

}  // namespace netfence::compiler
