// SPDX-License-Identifier: Apache-2.0
// The incremental compiler's cluster policies (ClusterNetworkPolicy and the v1alpha1 kinds)
// and nodes: their events, which identities a cluster policy's subject selects, and which
// cluster policies must be decoded again when identities, namespace labels or nodes change.
// The bookkeeping mirrors the NetworkPolicy one (incremental_deps.cc).
#include <algorithm>

#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/incremental.h"
#include "controlplane/compiler/incremental_internal.h"

namespace netfence::compiler {

using k8s::Direction;

namespace {

PolicyName NameOf(const k8s::ClusterNetworkPolicy& cnp) { return {cnp.kind, cnp.meta.name}; }

// The namespace selectors of a cluster policy's pod and namespace peers, except those that
// select every pod (no namespace can change what they select).
template <typename F>
void ForEachNamespaceSelector(const k8s::ClusterNetworkPolicy& cnp, F&& f) {
  for (Direction d : {Direction::kIngress, Direction::kEgress}) {
    for (const auto& rule : cnp.Rules(d)) {
      for (const auto& peer : rule.peers) {
        if (peer.kind == k8s::ClusterPeer::Kind::kNamespaces) {
          if (!peer.selector.empty()) f(peer.selector, static_cast<const k8s::LabelSelector*>(nullptr));
        } else if (peer.kind == k8s::ClusterPeer::Kind::kPods) {
          if (!peer.pods.namespace_selector.empty() || !peer.pods.pod_selector.empty()) {
            f(peer.pods.namespace_selector, &peer.pods.pod_selector);
          }
        }
      }
    }
  }
}

bool HasNodePeers(const k8s::ClusterNetworkPolicy& cnp) {
  for (Direction d : {Direction::kIngress, Direction::kEgress}) {
    for (const auto& rule : cnp.Rules(d)) {
      for (const auto& peer : rule.peers) {
        if (peer.kind == k8s::ClusterPeer::Kind::kNodes) return true;
      }
    }
  }
  return false;
}

}  // namespace

// ---- Events ---------------------------------------------------------------------------------

void IncrementalCompiler::ApplyNode(const source::Event& e, Batch* b) {
  const auto& node = std::get<k8s::Node>(e.object);
  auto it = nodes_.find(node.meta.name);
  if (e.op == source::Op::kDelete) {
    if (it == nodes_.end()) return;
    nodes_.erase(it);
    b->nodes_changed = true;
    return;
  }
  if (it != nodes_.end() && it->second.meta.labels == node.meta.labels &&
      it->second.internal_ips == node.internal_ips) {
    it->second = node;  // nothing a policy sees changed
    return;
  }
  nodes_[node.meta.name] = node;
  b->nodes_changed = true;
}

void IncrementalCompiler::ApplyClusterPolicy(const source::Event& e, Batch* b) {
  const auto& cnp = std::get<k8s::ClusterNetworkPolicy>(e.object);
  const PolicyName name = NameOf(cnp);
  auto it = cluster_.find(name);
  if (e.op == source::Op::kDelete && it == cluster_.end()) return;
  b->cluster_changed.insert(name);
  if (e.op == source::Op::kDelete) {
    it->second->deleted = true;
    IndexClusterCross(name, it->second.get(), false);
    return;
  }
  if (it == cluster_.end()) it = cluster_.emplace(name, std::make_unique<ClusterRec>()).first;
  ClusterRec& c = *it->second;
  IndexClusterCross(name, &c, false);
  c.cnp = cnp;
  c.deleted = false;
  IndexClusterCross(name, &c, true);
}

// ---- Selection ------------------------------------------------------------------------------

bool IncrementalCompiler::ClusterSubjectSelects(const ClusterRec& c, const IdentityRec& id) const {
  return c.cnp.subject.namespace_selector.Matches(NamespaceLabels(id.key.meta.ns)) &&
         c.cnp.subject.pod_selector.Matches(id.key.meta.labels);
}

bool IncrementalCompiler::ClusterPeersSelect(const ClusterRec& c, const IdentityRec& id) const {
  bool selects = false;
  ForEachNamespaceSelector(c.cnp, [&](const k8s::LabelSelector& ns_sel, const k8s::LabelSelector* pod_sel) {
    selects |= ns_sel.Matches(NamespaceLabels(id.key.meta.ns)) && (!pod_sel || pod_sel->Matches(id.key.meta.labels));
  });
  return selects;
}

void IncrementalCompiler::SelectNodeAddresses(const k8s::LabelSelector& sel, std::vector<IpAddr>* out) const {
  for (const auto& [name, node] : nodes_) {
    if (!sel.Matches(node.meta.labels)) continue;
    for (const auto& ip : node.internal_ips) {
      if (auto a = IpAddr::Parse(ip)) out->push_back(*a);
    }
  }
}

void IncrementalCompiler::IndexClusterCross(const PolicyName& name, ClusterRec* c, bool add) {
  if (!add) {
    for (const std::string& k : c->cross_keys) {
      auto it = cluster_cross_by_label_.find(k);
      if (it == cluster_cross_by_label_.end()) continue;
      it->second.erase(name);
      if (it->second.empty()) cluster_cross_by_label_.erase(it);
    }
    c->cross_keys.clear();
    cluster_cross_unindexed_.erase(name);
    return;
  }
  // Each namespace selector's first matchLabels entry: a namespace without it cannot match.
  bool unindexed = false;
  ForEachNamespaceSelector(c->cnp, [&](const k8s::LabelSelector& ns_sel, const k8s::LabelSelector*) {
    if (ns_sel.match_labels.empty()) {
      unindexed = true;
    } else {
      const auto& [k, v] = *ns_sel.match_labels.begin();
      c->cross_keys.push_back(k + "=" + v);
    }
  });
  std::sort(c->cross_keys.begin(), c->cross_keys.end());
  c->cross_keys.erase(std::unique(c->cross_keys.begin(), c->cross_keys.end()), c->cross_keys.end());
  for (const std::string& k : c->cross_keys) cluster_cross_by_label_[k].insert(name);
  if (unindexed) cluster_cross_unindexed_.insert(name);
}

void IncrementalCompiler::ClusterCrossCandidates(const k8s::Labels& labels, std::set<PolicyName>* out) const {
  out->insert(cluster_cross_unindexed_.begin(), cluster_cross_unindexed_.end());
  for (const auto& [k, v] : labels) {
    if (auto it = cluster_cross_by_label_.find(k + "=" + v); it != cluster_cross_by_label_.end()) {
      out->insert(it->second.begin(), it->second.end());
    }
  }
}

// ---- Dependencies ---------------------------------------------------------------------------

void IncrementalCompiler::RedecodeCluster(ClusterRec* c) {
  const PolicyName name = NameOf(c->cnp);
  for (uint32_t id : c->peer_ids) {
    auto it = cluster_referenced_by_.find(id);
    if (it == cluster_referenced_by_.end()) continue;
    it->second.erase(name);
    if (it->second.empty()) cluster_referenced_by_.erase(it);
  }
  c->spec = DecodeClusterPolicy(c->cnp, *this, Audited(c->cnp.meta, nullptr, audit_by_default_));
  c->peer_ids.clear();
  c->named_egress = false;
  bool any_identity = false;
  for (int d = 0; d < 2; ++d) {
    for (const RuleSpec& r : c->spec.rules[d]) {
      c->peer_ids.insert(c->peer_ids.end(), r.peers.identities.begin(), r.peers.identities.end());
      if (d == static_cast<int>(Direction::kEgress) && !r.every_port && !r.named.empty()) {
        c->named_egress = true;
        any_identity |= r.peers.everyone || r.peers.all_pods;
      }
    }
  }
  std::sort(c->peer_ids.begin(), c->peer_ids.end());
  c->peer_ids.erase(std::unique(c->peer_ids.begin(), c->peer_ids.end()), c->peer_ids.end());
  for (uint32_t id : c->peer_ids) cluster_referenced_by_[id].insert(name);
  if (any_identity) {
    cluster_any_identity_.insert(name);
  } else {
    cluster_any_identity_.erase(name);
  }
  if (HasNodePeers(c->cnp)) {
    cluster_nodes_.insert(name);
  } else {
    cluster_nodes_.erase(name);
  }
}

void IncrementalCompiler::FindDirtyClusterPolicies(Batch* b) {
  if (cluster_.empty()) return;
  std::set<PolicyName> dirty;
  for (const PolicyName& n : b->cluster_changed) {
    if (!cluster_.at(n)->deleted) dirty.insert(n);
  }
  // A relabelled namespace changes what namespace selectors see in it.
  for (const auto& [ns, old_labels] : b->ns_old_labels) {
    const k8s::Labels& now = NamespaceLabels(ns);
    if (now == old_labels || !ns_identities_.contains(ns)) continue;
    std::set<PolicyName> candidates;
    ClusterCrossCandidates(old_labels, &candidates);
    ClusterCrossCandidates(now, &candidates);
    const k8s::Labels& before = old_labels;  // clang 14 cannot capture a structured binding
    for (const PolicyName& n : candidates) {
      bool affected = false;
      ForEachNamespaceSelector(cluster_.at(n)->cnp, [&](const k8s::LabelSelector& sel, const k8s::LabelSelector*) {
        affected |= sel.Matches(before) != sel.Matches(now);
      });
      if (affected) dirty.insert(n);
    }
  }
  // Identities gone, renumbered or with another example: the cluster policies listing them.
  // New identities: the cluster policies whose peers select them.
  auto referencing = [&](uint32_t id) {
    if (auto it = cluster_referenced_by_.find(id); it != cluster_referenced_by_.end()) Insert(&dirty, it->second);
  };
  const bool identities_changed = !b->removed.empty() || !b->id_changed.empty() || !b->added.empty();
  for (const auto& [rec, old_id] : b->removed) referencing(old_id);
  for (const auto& [rec, old_id] : b->id_changed) referencing(old_id);
  std::map<std::string, std::vector<IdentityRec*>> added_by_ns;
  for (IdentityRec* rec : b->added) added_by_ns[rec->key.meta.ns].push_back(rec);
  for (const auto& [ns, recs] : added_by_ns) {
    std::set<PolicyName> candidates;
    ClusterCrossCandidates(NamespaceLabels(ns), &candidates);
    for (const PolicyName& n : candidates) {
      const ClusterRec& c = *cluster_.at(n);
      if (dirty.contains(n) || c.deleted) continue;
      for (IdentityRec* rec : recs) {
        if (ClusterPeersSelect(c, *rec)) {
          dirty.insert(n);
          break;
        }
      }
    }
  }
  bool examples_changed = false;
  for (IdentityRec* rec : b->example_changed) {
    if (rec->dead) continue;
    examples_changed = true;
    referencing(rec->id);
  }
  if (identities_changed || examples_changed) Insert(&dirty, cluster_any_identity_);
  if (b->nodes_changed) Insert(&dirty, cluster_nodes_);

  for (const PolicyName& n : dirty) {
    ClusterRec& c = *cluster_.at(n);
    if (c.deleted) continue;
    ClusterPolicySpec before = std::move(c.spec);
    RedecodeCluster(&c);
    // Named egress rules also depend on the pods behind the identities: always rebuilt.
    if (b->cluster_changed.contains(n) || c.named_egress || !(before == c.spec)) b->cluster_rebuild.insert(n);
  }
}

void IncrementalCompiler::UpdateClusterSubjects(Batch* b) {
  if (cluster_.empty()) return;
  auto order_of = [](const k8s::ClusterNetworkPolicy& cnp) {
    return ClusterOrder{cnp.tier, cnp.priority, cnp.meta.name, cnp.kind};
  };
  // Changed cluster policies: their subjects among every identity, filed under their
  // (maybe new) place in the evaluation order.
  for (const PolicyName& n : b->cluster_changed) {
    ClusterRec& c = *cluster_.at(n);
    for (IdentityRec* rec : c.subjects) {
      rec->cluster.erase(c.order);
      b->rekey.insert(rec);
    }
    c.subjects.clear();
    if (c.deleted) continue;
    c.order = order_of(c.cnp);
    for (const auto& [ns, recs] : ns_identities_) {
      if (!c.cnp.subject.namespace_selector.Matches(NamespaceLabels(ns))) continue;
      for (IdentityRec* rec : recs) {
        if (!c.cnp.subject.pod_selector.Matches(rec->key.meta.labels)) continue;
        c.subjects.insert(rec);
        rec->cluster.insert(c.order);
        b->rekey.insert(rec);
      }
    }
  }
  // New identities, and those of relabelled namespaces: every cluster policy's subject.
  std::set<IdentityRec*> check(b->added.begin(), b->added.end());
  for (const auto& [ns, old_labels] : b->ns_old_labels) {
    if (NamespaceLabels(ns) == old_labels) continue;
    if (auto it = ns_identities_.find(ns); it != ns_identities_.end())
      check.insert(it->second.begin(), it->second.end());
  }
  for (IdentityRec* rec : check) {
    if (rec->dead) continue;
    for (auto& [name, c] : cluster_) {
      if (c->deleted || b->cluster_changed.contains(name)) continue;
      const bool now = ClusterSubjectSelects(*c, *rec);
      if (now == c->subjects.contains(rec)) continue;
      if (now) {
        c->subjects.insert(rec);
        rec->cluster.insert(c->order);
      } else {
        c->subjects.erase(rec);
        rec->cluster.erase(c->order);
      }
      b->rekey.insert(rec);
    }
  }
  // Identities gone for good.
  for (const auto& [rec, old_id] : b->removed) {
    for (const ClusterOrder& o : rec->cluster) cluster_.at(o.key())->subjects.erase(rec);
    rec->cluster.clear();
  }
}

void IncrementalCompiler::ForgetCluster(const PolicyName& name) {
  auto it = cluster_.find(name);
  for (uint32_t id : it->second->peer_ids) {
    if (auto r = cluster_referenced_by_.find(id); r != cluster_referenced_by_.end()) {
      r->second.erase(name);
      if (r->second.empty()) cluster_referenced_by_.erase(r);
    }
  }
  cluster_any_identity_.erase(name);
  cluster_nodes_.erase(name);
  cluster_.erase(it);
}

}  // namespace netfence::compiler
