// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/incremental.h"

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/identity_key.h"
#include "controlplane/compiler/incremental_internal.h"
#include "controlplane/compiler/rows.h"
#include "google/protobuf/util/message_differencer.h"

namespace netfence::compiler {

using google::protobuf::util::MessageDifferencer;
using k8s::Direction;

namespace {

uint64_t KeyHash(const std::string& key) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
  return h == 0 ? 1 : h;
}

}  // namespace

IncrementalCompiler::IncrementalCompiler(bool audit_by_default) : audit_by_default_(audit_by_default) {}
IncrementalCompiler::~IncrementalCompiler() = default;

std::vector<v1::PolicyRef> IncrementalCompiler::Policies() const {
  std::vector<v1::PolicyRef> out;
  out.reserve(policies_.size());
  for (const auto& [name, p] : policies_) {
    v1::PolicyRef ref;
    ref.set_namespace_(name.first);
    ref.set_name(name.second);
    ref.set_audit(p->spec.audit);
    out.push_back(std::move(ref));
  }
  for (const auto& [name, c] : cluster_) {
    FillClusterPolicyRef(c->cnp, &out.emplace_back());
    out.back().set_audit(c->spec.audit);
  }
  return out;
}

std::vector<IncrementalCompiler::PolicyRules> IncrementalCompiler::RuleInventory() const {
  std::vector<PolicyRules> out;
  out.reserve(policies_.size() + cluster_.size());
  constexpr int kIn = static_cast<int>(k8s::Direction::kIngress), kEg = static_cast<int>(k8s::Direction::kEgress);
  for (const auto& [name, p] : policies_) {
    PolicyRules& r = out.emplace_back();
    r.ref.set_namespace_(name.first);
    r.ref.set_name(name.second);
    r.rules[v1::INGRESS] = static_cast<uint32_t>(p->spec.rules[kIn].size());
    r.rules[v1::EGRESS] = static_cast<uint32_t>(p->spec.rules[kEg].size());
  }
  for (const auto& [name, c] : cluster_) {
    PolicyRules& r = out.emplace_back();
    FillClusterPolicyRef(c->cnp, &r.ref);
    r.rules[v1::INGRESS] = static_cast<uint32_t>(r.ref.ingress_rule_names_size());
    r.rules[v1::EGRESS] = static_cast<uint32_t>(r.ref.egress_rule_names_size());
  }
  return out;
}

const std::vector<PolicyName>& IncrementalCompiler::TablePolicies(uint64_t table) const {
  static const std::vector<PolicyName> kNone;
  auto it = tables_.find(table);
  return it == tables_.end() ? kNone : it->second->all;
}

v1::RuleTables IncrementalCompiler::Materialize(uint64_t generation) const {
  const std::vector<v1::PolicyRef> policies = Policies();
  return Assemble(set_, generation, policies);
}

// ---- Events ---------------------------------------------------------------------------------

void IncrementalCompiler::ApplyNamespace(const source::Event& e, Batch* b) {
  const auto& ns = std::get<k8s::Namespace>(e.object);
  b->ns_old_labels.try_emplace(ns.meta.name, NamespaceLabels(ns.meta.name));
  // The namespace's annotation netfence.io/enforcement puts its policies in audit or not.
  auto old = namespaces_.find(ns.meta.name);
  const k8s::Enforcement was = old == namespaces_.end() ? k8s::Enforcement::kUnset : old->second.meta.EnforcementMode();
  const k8s::Enforcement now = e.op == source::Op::kDelete ? k8s::Enforcement::kUnset : ns.meta.EnforcementMode();
  if (was != now) {
    if (auto it = ns_policies_.find(ns.meta.name); it != ns_policies_.end()) Insert(&b->spec_changed, it->second);
  }
  const bool indexed = ns_indexed_.contains(ns.meta.name);
  if (indexed) IndexNamespace(ns.meta.name, false);
  ns_labels_.erase(ns.meta.name);
  if (e.op == source::Op::kDelete) {
    namespaces_.erase(ns.meta.name);
  } else {
    namespaces_[ns.meta.name] = ns;
    ns_labels_.emplace(ns.meta.name, ns.EffectiveLabels());
  }
  if (indexed) IndexNamespace(ns.meta.name, true);
}

void IncrementalCompiler::ApplyPolicy(const source::Event& e, Batch* b) {
  const auto& np = std::get<k8s::NetworkPolicy>(e.object);
  const PolicyName name = NameOf(np.meta);
  auto it = policies_.find(name);
  if (e.op == source::Op::kDelete && it == policies_.end()) return;
  b->spec_changed.insert(name);
  if (e.op == source::Op::kDelete) {
    it->second->deleted = true;
    ns_policies_[name.first].erase(name);
    IndexCrossNamespace(name, it->second.get(), false);
    return;
  }
  if (it == policies_.end()) it = policies_.emplace(name, std::make_unique<PolicyRec>()).first;
  PolicyRec& p = *it->second;
  IndexCrossNamespace(name, &p, false);
  p.np = np;
  p.deleted = false;
  ns_policies_[name.first].insert(name);
  IndexCrossNamespace(name, &p, true);
}

void IncrementalCompiler::ApplyPod(const source::Event& e, Batch* b) {
  const auto& pod = std::get<k8s::Pod>(e.object);
  const EndpointName name{pod.meta.ns, pod.meta.name};
  auto it = pods_.find(name);
  PodRec* rec = it == pods_.end() ? nullptr : it->second.get();
  if (rec != nullptr) {
    if (e.op == source::Op::kUpsert && rec->pod == pod) return;
    for (const IpAddr& ip : rec->ips) {
      auto& claims = claims_[ip];
      claims.erase(std::remove_if(claims.begin(), claims.end(), [&](const Claim& c) { return c.pod == rec; }),
                   claims.end());
      if (claims.empty()) claims_.erase(ip);
      b->ips.insert(ip);
    }
    rec->ips.clear();
    if (rec->endpoint) {
      b->endpoints.insert(name);
      b->endpoints_changed = true;
    }
  }
  if (e.op == source::Op::kDelete) {
    if (rec == nullptr) return;
    if (rec->identity != nullptr) LeaveIdentity(rec, b);
    pods_.erase(it);
    return;
  }
  const bool endpoint = pod.IsEndpoint();
  if (rec == nullptr) {
    rec = pods_.emplace(name, std::make_unique<PodRec>()).first->second.get();
  } else if (rec->identity != nullptr) {
    if (endpoint && SameIdentity(rec->identity->key, pod)) {
      // Same identity: stay a member (no identity churn for an address or phase change).
      if (rec->identity->members.begin()->second == rec && rec->pod.ports != pod.ports) {
        b->example_changed.insert(rec->identity);
      }
    } else {
      LeaveIdentity(rec, b);
    }
  }
  rec->pod = pod;
  rec->endpoint = endpoint;
  if (endpoint || pod.host_network) {
    for (const std::string& text : pod.pod_ips) {
      if (auto a = IpAddr::Parse(text)) rec->ips.push_back(*a);
    }
  }
  if (endpoint) {
    if (rec->identity == nullptr) JoinIdentity(rec, b);
    b->endpoints.insert(name);
    b->endpoints_changed = true;
  }
  for (const IpAddr& ip : rec->ips) {
    claims_[ip].push_back({endpoint ? 0u : 1u, rec});
    b->ips.insert(ip);
  }
}

// Endpoints share a direction's table when the same policies covering that direction select
// them and, for ingress with named ports, the names resolve alike on them.
std::string IncrementalCompiler::TableKey(const IdentityRec& id, Direction dir) const {
  const int d = static_cast<int>(dir);
  std::string key(1, static_cast<char>('0' + d));
  bool named = false;
  for (const PolicyName& n : id.selecting) {
    const PolicySpec& spec = policies_.at(n)->spec;
    if (!spec.covers[d]) continue;
    key += n.first;
    key += '\0';
    key += n.second;
    key += '\0';
    named |= dir == Direction::kIngress && spec.named_ingress;
  }
  // Cluster policies with rules in this direction, in evaluation order (after a byte no
  // namespace or name holds).
  bool tiers = false;
  for (const ClusterOrder& o : id.cluster) {
    const ClusterRec& c = *cluster_.at(o.key());
    if (c.cnp.Rules(dir).empty()) continue;
    if (!tiers) key += '\x01';
    tiers = true;
    key += o.tier == k8s::Tier::kAdmin ? 'A' : 'B';
    key += o.kind;
    key += '\0';
    key += o.name;
    key += '\0';
    named |= dir == Direction::kIngress && c.spec.named_ingress;
  }
  if (named) {
    key += "|";
    for (const auto& cp : id.example().ports) {
      if (cp.name.empty()) continue;
      key += cp.name + "/" + cp.protocol + "/" + std::to_string(cp.container_port) + ";";
    }
  }
  return key;
}

void IncrementalCompiler::RekeyIdentities(Batch* b) {
  // New keys first, releases after: a table that changes hands within the batch survives.
  std::vector<uint64_t> released;
  for (IdentityRec* rec : b->rekey) {
    for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
      const int d = static_cast<int>(dir);
      const uint64_t old = rec->has_tables ? rec->table[d] : 0;
      if (rec->dead) {
        if (old != 0) released.push_back(old);
        continue;
      }
      const std::string key = TableKey(*rec, dir);
      uint64_t id;
      if (auto f = table_by_key_.find(key); f != table_by_key_.end()) {
        id = f->second;
      } else {
        id = KeyHash(key);
        while (tables_.contains(id) || id == 0) ++id;
        auto t = std::make_unique<TableRec>();
        t->id = id;
        t->key = key;
        t->dir = dir;
        for (const PolicyName& n : rec->selecting) {
          if (policies_.at(n)->spec.covers[d]) {
            t->policies.push_back(n);
            policies_.at(n)->tables.insert(id);
          }
        }
        for (const ClusterOrder& o : rec->cluster) {
          ClusterRec& c = *cluster_.at(o.key());
          if (c.cnp.Rules(dir).empty()) continue;
          (o.tier == k8s::Tier::kAdmin ? t->admin : t->baseline).push_back(o.key());
          c.tables.insert(id);
        }
        t->all = t->admin;
        t->all.insert(t->all.end(), t->policies.begin(), t->policies.end());
        t->all.insert(t->all.end(), t->baseline.begin(), t->baseline.end());
        tables_.emplace(id, std::move(t));
        table_by_key_.emplace(key, id);
        b->tables.insert(id);
      }
      if (id == old) continue;
      tables_.at(id)->users.insert(rec);
      if (old != 0) released.push_back(old);
      rec->table[d] = id;
      for (const auto& [name, pod] : rec->members) b->endpoints.insert({pod->pod.meta.ns, name});
    }
    if (rec->dead) {
      rec->has_tables = false;
    } else {
      rec->has_tables = true;
    }
  }
  for (uint64_t id : released) {
    auto it = tables_.find(id);
    if (it == tables_.end()) continue;
    TableRec& t = *it->second;
    for (auto u = t.users.begin(); u != t.users.end();) {
      IdentityRec* rec = *u;
      const int d = static_cast<int>(t.dir);
      if (rec->dead || !rec->has_tables || rec->table[d] != id) {
        u = t.users.erase(u);
      } else {
        ++u;
      }
    }
    if (!t.users.empty()) continue;
    for (const PolicyName& n : t.policies) {
      if (auto p = policies_.find(n); p != policies_.end()) p->second->tables.erase(id);
    }
    for (const auto* tier : {&t.admin, &t.baseline}) {
      for (const PolicyName& n : *tier) {
        if (auto c = cluster_.find(n); c != cluster_.end()) c->second->tables.erase(id);
      }
    }
    table_by_key_.erase(t.key);
    tables_.erase(it);
    b->tables.insert(id);  // reported as removed by RebuildTables
  }
}

void IncrementalCompiler::RebuildTables(Batch* b, Changes* out) {
  for (const PolicyName& n : b->rebuild) Insert(&b->tables, policies_.at(n)->tables);
  for (const PolicyName& n : b->cluster_rebuild) Insert(&b->tables, cluster_.at(n)->tables);
  std::vector<uint64_t> arena;
  std::vector<TablePolicy> specs;
  std::vector<TieredPolicy> admin, baseline;
  for (uint64_t id : b->tables) {
    auto it = tables_.find(id);
    if (it == tables_.end()) {
      if (set_.tables.erase(id) > 0) out->tables.insert(id);
      continue;
    }
    const TableRec& t = *it->second;
    specs.clear();
    admin.clear();
    baseline.clear();
    v1::DirectionTable unit;
    auto local = [&] { return static_cast<uint32_t>(unit.policies_size()); };
    for (const PolicyName& n : t.policies) {
      specs.push_back({local(), &policies_.at(n)->spec});
      auto* ref = unit.add_policies();
      ref->set_namespace_(n.first);
      ref->set_name(n.second);
      ref->set_audit(policies_.at(n)->spec.audit);
    }
    for (auto [tier, into] : {std::pair{&t.admin, &admin}, std::pair{&t.baseline, &baseline}}) {
      for (const PolicyName& n : *tier) {
        const ClusterRec& c = *cluster_.at(n);
        into->push_back({local(), &c.spec});
        FillClusterPolicyRef(c.cnp, unit.add_policies());
        unit.mutable_policies(unit.policies_size() - 1)->set_audit(c.spec.audit);
      }
    }
    arena.clear();
    RowWriter rows(&arena, 0);
    builder_.Build(t.dir, {admin, specs, baseline}, (*t.users.begin())->example(), *this, &rows, &unit);
    unit.mutable_words()->Add(arena.begin(), arena.end());
    ++out->tables_built;
    auto [slot, inserted] = set_.tables.try_emplace(id);
    if (!inserted && MessageDifferencer::Equals(slot->second, unit)) continue;
    slot->second = std::move(unit);
    out->tables.insert(id);
    for (const PolicyName& n : t.all) out->policies.insert(n);
  }
}

void IncrementalCompiler::WriteOutputs(Batch* b, Changes* out) {
  // Identities: every id that was freed, taken or moved.
  std::set<uint32_t> ids;
  for (const auto& [rec, old_id] : b->removed) ids.insert(old_id);
  for (const auto& [rec, old_id] : b->id_changed) {
    ids.insert(old_id);
    ids.insert(rec->id);
    for (const auto& [name, pod] : rec->members) {
      b->endpoints.insert({pod->pod.meta.ns, name});
      b->ips.insert(pod->ips.begin(), pod->ips.end());
    }
  }
  for (IdentityRec* rec : b->added) ids.insert(rec->id);
  for (uint32_t id : ids) {
    auto rec = by_id_.find(id);
    if (rec == by_id_.end()) {
      if (set_.identities.erase(id) > 0) out->identities.insert(id);
      continue;
    }
    v1::Identity identity;
    FillIdentity(id, rec->second->key, &identity);
    auto [slot, inserted] = set_.identities.try_emplace(id);
    if (!inserted && MessageDifferencer::Equals(slot->second, identity)) continue;
    slot->second = std::move(identity);
    out->identities.insert(id);
  }

  for (const EndpointName& name : b->endpoints) {
    auto it = pods_.find(name);
    if (it == pods_.end() || !it->second->endpoint) {
      if (set_.endpoints.erase(name) > 0) out->endpoints.insert(name);
      continue;
    }
    const PodRec& pod = *it->second;
    v1::NodeEndpoint e;
    e.set_namespace_(name.first);
    e.set_name(name.second);
    for (const IpAddr& ip : pod.ips) e.add_ips(tables::AddrBytes(ip));
    e.set_identity(pod.identity->id);
    e.set_ingress_table(pod.identity->table[0]);
    e.set_egress_table(pod.identity->table[1]);
    e.set_node(pod.pod.node_name);
    auto [slot, inserted] = set_.endpoints.try_emplace(name);
    if (!inserted && MessageDifferencer::Equals(slot->second, e)) continue;
    slot->second = std::move(e);
    out->endpoints.insert(name);
  }

  // The ipcache: one entry per address; an endpoint's claim beats a host's, then the lower
  // identity, then the pod name (for the entry's names; the tables see only the identity).
  for (const IpAddr& ip : b->ips) {
    auto it = claims_.find(ip);
    if (it == claims_.end() || it->second.empty()) {
      if (set_.ipcache.erase(ip) > 0) out->ipcache.insert(ip);
      continue;
    }
    auto rank = [](const Claim& c) {
      const uint32_t identity = c.rank == 0 ? c.pod->identity->id : kHostIdentity;
      return std::make_tuple(c.rank, identity, std::cref(c.pod->pod.meta.ns), std::cref(c.pod->pod.meta.name));
    };
    const Claim& best = *std::min_element(it->second.begin(), it->second.end(),
                                          [&](const Claim& x, const Claim& y) { return rank(x) < rank(y); });
    v1::IpcacheEntry e;
    e.set_addr(tables::AddrBytes(ip));
    e.set_identity(std::get<1>(rank(best)));
    if (best.rank == 0) {
      e.set_namespace_(best.pod->pod.meta.ns);
      e.set_pod(best.pod->pod.meta.name);
    }
    e.set_node(best.pod->pod.node_name);
    auto [slot, inserted] = set_.ipcache.try_emplace(ip);
    if (!inserted && MessageDifferencer::Equals(slot->second, e)) continue;
    slot->second = std::move(e);
    out->ipcache.insert(ip);
  }

  Insert(&out->policies, b->spec_changed);
  Insert(&out->policies, b->cluster_changed);
}

IncrementalCompiler::Changes IncrementalCompiler::Apply(std::span<const source::Event> events) {
  Batch b;
  for (const source::Event& e : events) {
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, k8s::Namespace>) ApplyNamespace(e, &b);
          if constexpr (std::is_same_v<T, k8s::NetworkPolicy>) ApplyPolicy(e, &b);
          if constexpr (std::is_same_v<T, k8s::Pod>) ApplyPod(e, &b);
          if constexpr (std::is_same_v<T, k8s::Node>) ApplyNode(e, &b);
          if constexpr (std::is_same_v<T, k8s::ClusterNetworkPolicy>) ApplyClusterPolicy(e, &b);
        },
        e.object);
  }
  AssignIds(&b);
  FindDirtyPolicies(&b);
  FindDirtyClusterPolicies(&b);
  UpdateSubjects(&b);
  UpdateClusterSubjects(&b);
  RekeyIdentities(&b);
  Changes out;
  RebuildTables(&b, &out);
  WriteOutputs(&b, &out);

  // Forget what is gone for good.
  for (const PolicyName& n : b.spec_changed) {
    auto it = policies_.find(n);
    if (it == policies_.end() || !it->second->deleted) continue;
    for (uint32_t id : it->second->peer_ids) {
      if (auto r = referenced_by_.find(id); r != referenced_by_.end()) {
        r->second.erase(n);
        if (r->second.empty()) referenced_by_.erase(r);
      }
    }
    any_identity_policies_.erase(n);
    endpoint_ip_policies_.erase(n);
    if (auto ns = ns_policies_.find(n.first); ns != ns_policies_.end() && ns->second.empty()) ns_policies_.erase(ns);
    policies_.erase(it);
  }
  for (const PolicyName& n : b.cluster_changed) {
    if (auto it = cluster_.find(n); it != cluster_.end() && it->second->deleted) ForgetCluster(n);
  }
  if (!b.removed.empty() || !b.discarded.empty()) {
    std::unordered_set<IdentityRec*> gone(b.discarded.begin(), b.discarded.end());
    for (const auto& [rec, old_id] : b.removed) gone.insert(rec);
    std::erase_if(identity_store_, [&](const std::unique_ptr<IdentityRec>& r) { return gone.contains(r.get()); });
  }
  return out;
}

}  // namespace netfence::compiler
