// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/compiler.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <unordered_map>

#include "controlplane/compiler/cluster_index.h"
#include "controlplane/compiler/identity_key.h"
#include "controlplane/compiler/rows.h"
#include "controlplane/compiler/rule_spec.h"
#include "controlplane/compiler/table_builder.h"

namespace netfence::compiler {

namespace {

using k8s::Direction;

std::string Bytes(const IpAddr& a) { return std::string(a.bytes.begin(), a.bytes.end()); }

class Compiler {
 public:
  Compiler(const ClusterIndex& index, const k8s::ClusterState& state, bool audit_by_default, v1::RuleTables* out)
      : idx_(index), out_(out), specs_(index.policies.size()), ready_(index.policies.size(), false),
        cluster_specs_(index.cluster_policies.size()), cluster_ready_(index.cluster_policies.size(), false) {
    std::unordered_map<std::string_view, const k8s::Namespace*> namespaces;
    for (const auto& ns : state.namespaces) namespaces.emplace(ns.meta.name, &ns);
    for (const auto* np : idx_.policies) {
      auto it = namespaces.find(np->meta.ns);
      audit_.push_back(Audited(np->meta, it == namespaces.end() ? nullptr : it->second, audit_by_default));
    }
    for (const auto* cnp : idx_.cluster_policies)
      cluster_audit_.push_back(Audited(cnp->meta, nullptr, audit_by_default));
  }

  void Run();

 private:
  // A policy's rules, decoded on first use.
  const PolicySpec& Spec(uint32_t policy);
  const ClusterPolicySpec& ClusterSpec(uint32_t c);
  void BuildDirection(const IdentityInfo& self, Direction dir, v1::DirectionTable* dt);
  std::string TableKey(const IdentityInfo& id, Direction dir);

  const ClusterIndex& idx_;
  v1::RuleTables* out_;
  std::vector<PolicySpec> specs_;  // per policy
  std::vector<bool> ready_;
  std::vector<ClusterPolicySpec> cluster_specs_;  // per cluster policy (evaluation order)
  std::vector<bool> cluster_ready_;
  std::vector<bool> audit_, cluster_audit_;  // per policy, per cluster policy (evaluation order)
  std::vector<TablePolicy> table_policies_;
  std::vector<TieredPolicy> admin_, baseline_;
  std::vector<uint32_t> ids_;  // TableKey's scratch
  TableBuilder builder_;
  std::vector<uint64_t> words_;  // the row arena, moved into the tables at the end
  RowWriter rows_writer_{&words_, 0};
  uint64_t rows_ = 0;
};

const PolicySpec& Compiler::Spec(uint32_t policy) {
  if (!ready_[policy]) {
    specs_[policy] = DecodePolicy(*idx_.policies[policy], idx_, audit_[policy]);
    ready_[policy] = true;
  }
  return specs_[policy];
}

const ClusterPolicySpec& Compiler::ClusterSpec(uint32_t c) {
  if (!cluster_ready_[c]) {
    cluster_specs_[c] = DecodeClusterPolicy(*idx_.cluster_policies[c], idx_, cluster_audit_[c]);
    cluster_ready_[c] = true;
  }
  return cluster_specs_[c];
}

void Compiler::BuildDirection(const IdentityInfo& self, Direction dir, v1::DirectionTable* dt) {
  table_policies_.clear();
  admin_.clear();
  baseline_.clear();
  for (uint32_t p : self.policies) table_policies_.push_back({p, &Spec(p)});
  for (uint32_t c : self.cluster) {
    auto& tier = idx_.cluster_policies[c]->tier == k8s::Tier::kAdmin ? admin_ : baseline_;
    tier.push_back({idx_.cluster_ref[c], &ClusterSpec(c)});
  }
  builder_.Build(dir, {admin_, table_policies_, baseline_}, *self.example, idx_, &rows_writer_, dt);
  rows_ += rows_writer_.rows();
}

// Endpoints share a direction's table when the same policies covering that direction
// select them and, for ingress with named ports, the names resolve alike on them.
std::string Compiler::TableKey(const IdentityInfo& id, Direction dir) {
  const int d = static_cast<int>(dir);
  // Each list is written with its length first, so that no two lists read alike.
  std::string key(1, static_cast<char>('0' + d));
  auto append = [&](uint32_t v) { key.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  bool named = false;
  ids_.clear();
  for (uint32_t p : id.policies) {
    const PolicySpec& spec = Spec(p);
    if (!spec.covers[d]) continue;
    ids_.push_back(p);
    named |= dir == Direction::kIngress && spec.named_ingress;
  }
  append(static_cast<uint32_t>(ids_.size()));
  for (uint32_t p : ids_) append(p);
  // Cluster policies with rules in this direction, in evaluation order.
  ids_.clear();
  for (uint32_t c : id.cluster) {
    if (idx_.cluster_policies[c]->Rules(dir).empty()) continue;
    ids_.push_back(c);
    named |= dir == Direction::kIngress && ClusterSpec(c).named_ingress;
  }
  append(static_cast<uint32_t>(ids_.size()));
  for (uint32_t c : ids_) append(c);
  if (named) {
    key += "|";
    for (const auto& cp : id.example->ports) {
      if (cp.name.empty()) continue;
      key += cp.name;
      key += '/';
      key += cp.protocol;
      key.append(reinterpret_cast<const char*>(&cp.container_port), sizeof(cp.container_port));
    }
  }
  return key;
}

void Compiler::Run() {
  for (uint32_t p = 0; p < idx_.policies.size(); ++p) {
    auto* ref = out_->add_policies();
    ref->set_namespace_(idx_.policies[p]->meta.ns);
    ref->set_name(idx_.policies[p]->meta.name);
    ref->set_audit(audit_[p]);
  }
  for (const auto* cnp : idx_.cluster_by_ref) FillClusterPolicyRef(*cnp, out_->add_policies());
  for (uint32_t c = 0; c < idx_.cluster_policies.size(); ++c) {
    out_->mutable_policies(static_cast<int>(idx_.cluster_ref[c]))->set_audit(cluster_audit_[c]);
  }
  for (const auto& info : idx_.identities) FillIdentity(info.id, *info.example, out_->add_identities());
  std::string* addrs = out_->mutable_ipcache_addrs();
  addrs->reserve(16 * idx_.ipcache.size());
  for (const auto& [ip, identity] : idx_.ipcache) {
    addrs->append(ip.bytes.begin(), ip.bytes.end());
    out_->add_ipcache_identities(identity);
  }

  // One table per distinct key and direction, built from the first identity that needs it.
  std::unordered_map<std::string, uint32_t> tables;
  std::vector<std::array<uint32_t, 2>> identity_table(idx_.identities.size());
  for (uint32_t i = 0; i < idx_.identities.size(); ++i) {
    for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
      auto [it, inserted] = tables.try_emplace(TableKey(idx_.identities[i], dir), out_->tables_size());
      if (inserted) {
        BuildDirection(idx_.identities[i], dir, out_->add_tables());
      }
      identity_table[i][static_cast<int>(dir)] = it->second;
    }
  }

  for (uint32_t e = 0; e < idx_.endpoints.size(); ++e) {
    const k8s::Pod& pod = *idx_.endpoints[e];
    auto* ep = out_->add_endpoints();
    ep->set_namespace_(pod.meta.ns);
    ep->set_name(pod.meta.name);
    ep->set_node(pod.node_name);
    for (const auto& ip : idx_.EndpointIps(e)) ep->add_ips(Bytes(ip));
    uint32_t ident = idx_.endpoint_identity[e];
    ep->set_identity(idx_.identities[ident].id);
    ep->set_ingress_table(identity_table[ident][0]);
    ep->set_egress_table(identity_table[ident][1]);
  }

  out_->mutable_words()->Add(words_.begin(), words_.end());

  auto* st = out_->mutable_stats();
  st->set_identities(out_->identities_size());
  st->set_endpoints(out_->endpoints_size());
  st->set_tables(out_->tables_size());
  st->set_policies(out_->policies_size());
  st->set_words(words_.size());
  st->set_rows(rows_);
  for (const auto& d : out_->tables()) {
    st->set_rules(st->rules() + d.rule_count());
    st->set_identity_entries(st->identity_entries() + d.identity_ids_size());
    st->set_cidr_entries(st->cidr_entries() + d.cidr_lengths_size());
    st->set_port_entries(st->port_entries() + d.port_rows_size());
  }
}

}  // namespace

void FillClusterPolicyRef(const k8s::ClusterNetworkPolicy& cnp, v1::PolicyRef* ref) {
  ref->set_kind(cnp.kind);
  ref->set_name(cnp.meta.name);
  ref->set_tier(cnp.tier == k8s::Tier::kAdmin ? v1::TIER_ADMIN : v1::TIER_BASELINE);
  ref->set_priority(cnp.priority);
  for (const auto& r : cnp.ingress) ref->add_ingress_rule_names(r.name);
  for (const auto& r : cnp.egress) ref->add_egress_rule_names(r.name);
}

void CompileInto(const k8s::ClusterState& state, const Options& options, v1::RuleTables* out) {
  out->Clear();
  ClusterIndex index(state);
  out->set_generation(options.generation);
  Compiler(index, state, options.audit_by_default, out).Run();
}

v1::RuleTables Compile(const k8s::ClusterState& state, const Options& options) {
  v1::RuleTables out;
  CompileInto(state, options, &out);
  return out;
}

}  // namespace netfence::compiler
