// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/table_builder.h"

#include <algorithm>
#include <map>

#include "controlplane/compiler/compiler.h"

namespace netfence::compiler {
namespace {

using k8s::Direction;

constexpr uint8_t kL4Protocols[] = {6, 17, 132};
const IpPrefix kEverywhere = *IpPrefix::Parse("::/0");

// Appends a scratch vector to a packed repeated field in one allocation.
template <typename T>
void Put(google::protobuf::RepeatedField<uint32_t>* field, const std::vector<T>& values) {
  field->Reserve(static_cast<int>(values.size()));
  for (T v : values) field->AddAlreadyReserved(static_cast<uint32_t>(v));
}

}  // namespace

void TableBuilder::Clear() {
  for (auto* v : {&rule_policy_, &rule_index_, &rule_flags_, &all_pod_bits_, &other_bits_, &out_a_, &out_b_}) {
    v->clear();
  }
  tiered_ = false;
  audit_ = false;
  id_bits_.clear();
  blocks_.clear();
  spans_.clear();
}

uint32_t TableBuilder::NewBit(uint32_t policy, uint32_t rule, uint32_t flags) {
  rule_policy_.push_back(policy);
  rule_index_.push_back(rule);
  rule_flags_.push_back(flags);
  return static_cast<uint32_t>(rule_policy_.size() - 1);
}

void TableBuilder::AddPeers(const PeerSet& ps, uint32_t bit) {
  if (ps.everyone) blocks_.push_back({kEverywhere, {}, bit});
  if (ps.all_pods) all_pod_bits_.push_back(bit);
  for (uint32_t id : ps.identities) id_bits_.emplace_back(id, bit);
  for (const auto& b : ps.blocks) blocks_.push_back({b.cidr, b.except, bit});
}

// Egress rules with named ports: the number depends on the destination pod, so the rule
// gets one extra bit per (protocol, number) the names resolve to, whose peers are only
// the destinations resolving to it: identities, and pod IPs reached through an ipBlock.
void TableBuilder::CollectNamedEgress(uint32_t policy, uint32_t rule, const PeerSet& ps,
                                      const std::vector<std::pair<std::string, uint8_t>>& named,
                                      const NamedPortScope& scope) {
  struct Group {
    std::vector<uint32_t> identities;
    std::vector<IpAddr> hosts;
  };
  std::map<std::pair<uint8_t, uint16_t>, Group> groups;
  auto resolve = [&](const k8s::Pod& pod, auto&& add) {
    for (const auto& [name, proto] : named) {
      if (auto n = ResolveNamed(pod, name, proto)) add(groups[*n]);
    }
  };
  auto add_identity = [&](uint32_t id, const k8s::Pod& pod) {
    resolve(pod, [&](Group& g) {
      if (g.identities.empty() || g.identities.back() != id) g.identities.push_back(id);
    });
  };
  if (ps.everyone || ps.all_pods) {
    scope.ForEachIdentity(add_identity);
  } else {
    for (uint32_t id : ps.identities) add_identity(id, scope.IdentityPod(id));
  }
  if (!ps.everyone && !ps.blocks.empty()) {
    scope.ForEachEndpointIp([&](const k8s::Pod& pod, const IpAddr& ip) {
      bool inside = std::any_of(ps.blocks.begin(), ps.blocks.end(), [&](const CidrBlock& blk) {
        return blk.cidr.contains(ip) &&
               std::none_of(blk.except.begin(), blk.except.end(), [&](const IpPrefix& x) { return x.contains(ip); });
      });
      if (inside) resolve(pod, [&](Group& g) { g.hosts.push_back(ip); });
    });
  }
  for (const auto& [proto_port, g] : groups) {
    uint32_t bit = NewBit(policy, rule, flags_);
    for (uint32_t id : g.identities) id_bits_.emplace_back(id, bit);
    for (const auto& h : g.hosts) blocks_.push_back({IpPrefix::Host(h), {}, bit});
    spans_.push_back({proto_port.first, proto_port.second, proto_port.second, bit});
  }
}

void TableBuilder::CollectRule(uint32_t policy, uint32_t rule, const RuleSpec& spec, Direction dir,
                               const k8s::Pod& self, const NamedPortScope& scope) {
  flags_ = spec.flags;
  if (spec.every_port) {  // every protocol, every port
    uint32_t bit = NewBit(policy, rule, flags_);
    AddPeers(spec.peers, bit);
    for (uint8_t proto : kL4Protocols) spans_.push_back({proto, 0, 65535, bit});
    other_bits_.push_back(bit);
    return;
  }
  // Ingress named ports resolve on the destination, the selected pod itself (tables are
  // per named-port set), so they become numbers here. Egress ones resolve per peer.
  const bool resolve_here = dir == Direction::kIngress;
  bool numeric = !spec.numeric.empty();
  if (resolve_here) {
    for (const auto& [name, proto] : spec.named) numeric |= ResolveNamed(self, name, proto).has_value();
  }
  if (numeric) {
    uint32_t bit = NewBit(policy, rule, flags_);
    AddPeers(spec.peers, bit);
    for (PortSpan s : spec.numeric) {
      s.rule_bit = bit;
      spans_.push_back(s);
    }
    if (resolve_here) {
      for (const auto& [name, proto] : spec.named) {
        if (auto n = ResolveNamed(self, name, proto)) spans_.push_back({n->first, n->second, n->second, bit});
      }
    }
  }
  if (!resolve_here && !spec.named.empty()) CollectNamedEgress(policy, rule, spec.peers, spec.named, scope);
}

void TableBuilder::CollectTier(std::span<const TieredPolicy> tier, Direction dir, const k8s::Pod& self,
                               const NamedPortScope& scope) {
  const int d = static_cast<int>(dir);
  const size_t before = rule_policy_.size();
  for (const TieredPolicy& tp : tier) {
    const auto& rules = tp.spec->rules[d];
    for (uint32_t r = 0; r < rules.size(); ++r) CollectRule(tp.index, r, rules[r], dir, self, scope);
  }
  tiered_ |= rule_policy_.size() > before;
}

void TableBuilder::Build(Direction dir, const TableInputs& in, const k8s::Pod& self, const NamedPortScope& scope,
                         RowWriter* rows_out, v1::DirectionTable* dt) {
  Clear();
  const int d = static_cast<int>(dir);
  dt->set_direction(dir == Direction::kIngress ? v1::INGRESS : v1::EGRESS);
  CollectTier(in.admin, dir, self, scope);
  const auto np_first = static_cast<uint32_t>(rule_policy_.size());
  for (const TablePolicy& tp : in.policies) {
    const PolicySpec& spec = *tp.spec;
    if (!spec.covers[d]) continue;
    // A policy in audit isolates the audited decision only.
    if (spec.audit) {
      dt->add_audit_isolating_policies(tp.index);
    } else {
      dt->set_isolated(true);
      dt->add_isolating_policies(tp.index);
    }
    for (uint32_t r = 0; r < spec.rules[d].size(); ++r) CollectRule(tp.index, r, spec.rules[d][r], dir, self, scope);
  }
  const auto baseline_first = static_cast<uint32_t>(rule_policy_.size());
  CollectTier(in.baseline, dir, self, scope);
  const auto nbits = static_cast<uint32_t>(rule_policy_.size());
  dt->set_audit_isolated(dt->isolated() || dt->audit_isolating_policies_size() > 0);
  for (uint32_t f : rule_flags_) audit_ |= (f & tables::kRuleAudit) != 0;
  if (tiered_ || audit_) {
    Put(dt->mutable_rule_flags(), rule_flags_);
    dt->set_np_first_bit(np_first);
    dt->set_baseline_first_bit(baseline_first);
  }
  const uint32_t row_words = (nbits + 63) / 64;
  dt->set_rule_count(nbits);
  dt->set_row_words(row_words);
  dt->set_summary_words(SummaryWords(row_words));
  dt->set_all_pods_row(kEmptyRow);
  dt->set_other_protocols_row(kEmptyRow);
  RowWriter& rows = *rows_out;
  rows.Reset(row_words);
  if (nbits == 0) return;
  Put(dt->mutable_rule_policy(), rule_policy_);
  Put(dt->mutable_rule_index(), rule_index_);

  Bits all_pods(nbits);
  for (uint32_t bit : all_pod_bits_) all_pods.set(bit);
  dt->set_all_pods_row(rows.Put(all_pods.data()));

  // Identity dimension: one row per listed identity (all-pods rules included).
  auto& ids = out_a_;
  auto& id_rows = out_b_;
  std::sort(id_bits_.begin(), id_bits_.end());
  for (size_t i = 0; i < id_bits_.size();) {
    uint32_t ident = id_bits_[i].first;
    Bits row = all_pods;
    for (; i < id_bits_.size() && id_bits_[i].first == ident; ++i) row.set(id_bits_[i].second);
    ids.push_back(ident);
    id_rows.push_back(rows.Put(row.data()));
  }
  Put(dt->mutable_identity_ids(), ids);
  Put(dt->mutable_identity_rows(), id_rows);

  if (!blocks_.empty()) {
    auto flat_cidrs = FlattenCidrs(blocks_, nbits);
    std::string* addrs = dt->mutable_cidr_addrs();
    addrs->reserve(16 * flat_cidrs.size());
    dt->mutable_cidr_lengths()->Reserve(static_cast<int>(flat_cidrs.size()));
    dt->mutable_cidr_rows()->Reserve(static_cast<int>(flat_cidrs.size()));
    for (const auto& fp : flat_cidrs) {
      addrs->append(fp.prefix.addr.bytes.begin(), fp.prefix.addr.bytes.end());
      dt->add_cidr_lengths(fp.prefix.len);
      dt->add_cidr_rows(rows.Put(fp.rules.data()));
    }
  }

  port_flattener_.Flatten(spans_, nbits, &ports_);
  const int nports = static_cast<int>(ports_.size());
  for (auto* f :
       {dt->mutable_port_protocols(), dt->mutable_port_firsts(), dt->mutable_port_lasts(), dt->mutable_port_rows()}) {
    f->Reserve(nports);
  }
  for (const auto& fr : ports_) {
    dt->add_port_protocols(fr.protocol);
    dt->add_port_firsts(fr.first);
    dt->add_port_lasts(fr.last);
    dt->add_port_rows(rows.Put(fr.rules.data()));
  }
  Bits other(nbits);
  for (uint32_t bit : other_bits_) other.set(bit);
  dt->set_other_protocols_row(rows.Put(other.data()));
}

}  // namespace netfence::compiler
