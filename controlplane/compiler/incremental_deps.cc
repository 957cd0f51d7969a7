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

// Selection (which identities a peer selects), the indexes that find the policies an
// identity or namespace can affect, and the dependency phases of Apply().

namespace {

// The namespace labels a policy's namespaceSelector peers need: for each such peer (every
// pod of the cluster excepted, it names no namespace), its first matchLabels entry "k=v" (a
// namespace without it cannot match). *unindexed is set when some peer has none.
std::vector<std::string> NamespaceSelectorKeys(const k8s::NetworkPolicy& np, bool* unindexed) {
  std::vector<std::string> keys;
  *unindexed = false;
  for (Direction d : {Direction::kIngress, Direction::kEgress}) {
    if (!np.Covers(d)) continue;
    for (const auto& rule : np.Rules(d)) {
      for (const auto& peer : rule.peers) {
        if (peer.ip_block || !peer.namespace_selector) continue;
        const bool any_pod = !peer.pod_selector || peer.pod_selector->empty();
        if (peer.namespace_selector->empty() && any_pod) continue;
        if (peer.namespace_selector->match_labels.empty()) {
          *unindexed = true;
        } else {
          const auto& [k, v] = *peer.namespace_selector->match_labels.begin();
          keys.push_back(k + "=" + v);
        }
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

// ---- Selection ------------------------------------------------------------------------------

const k8s::Labels& IncrementalCompiler::NamespaceLabels(const std::string& ns) const {
  auto it = ns_labels_.find(ns);
  if (it != ns_labels_.end()) return it->second;
  // A namespace without a Namespace object has only the label the API server sets on all.
  return ns_labels_.emplace(ns, k8s::Labels{{"kubernetes.io/metadata.name", ns}}).first->second;
}

bool IncrementalCompiler::PeerSelects(const k8s::NetworkPolicyPeer& peer, const std::string& policy_ns,
                                      const IdentityRec& id) const {
  if (peer.ip_block) return false;
  const bool any_pod = !peer.pod_selector || peer.pod_selector->empty();
  const bool pods_match = any_pod || peer.pod_selector->Matches(id.key.meta.labels);
  if (!peer.namespace_selector) return id.key.meta.ns == policy_ns && pods_match;
  if (peer.namespace_selector->empty() && any_pod) return false;  // all pods: listed by no identity
  return pods_match && peer.namespace_selector->Matches(NamespaceLabels(id.key.meta.ns));
}

bool IncrementalCompiler::PolicyPeersSelect(const PolicyRec& p, const IdentityRec& id) const {
  for (Direction d : {Direction::kIngress, Direction::kEgress}) {
    if (!p.np.Covers(d)) continue;
    for (const auto& rule : p.np.Rules(d)) {
      for (const auto& peer : rule.peers) {
        if (PeerSelects(peer, p.np.meta.ns, id)) return true;
      }
    }
  }
  return false;
}

void IncrementalCompiler::SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                                     std::vector<uint32_t>* ids) const {
  if (peer.ip_block) return;
  const bool any_pod = !peer.pod_selector || peer.pod_selector->empty();
  auto add_from = [&](const std::set<IdentityRec*>& recs) {
    for (const IdentityRec* r : recs) {
      if (any_pod || peer.pod_selector->Matches(r->key.meta.labels)) ids->push_back(r->id);
    }
  };
  if (!peer.namespace_selector) {
    if (auto it = ns_identities_.find(ns); it != ns_identities_.end()) add_from(it->second);
    return;
  }
  if (peer.namespace_selector->empty() && any_pod) {
    *all_pods = true;
    return;
  }
  const auto& sel = *peer.namespace_selector;
  if (!sel.match_labels.empty()) {
    // Only namespaces carrying the first required label can match.
    const auto& [k, v] = *sel.match_labels.begin();
    auto cand = ns_by_label_.find(k + "=" + v);
    if (cand == ns_by_label_.end()) return;
    for (const std::string& name : cand->second) {
      if (sel.Matches(NamespaceLabels(name))) add_from(ns_identities_.at(name));
    }
    return;
  }
  for (const auto& [name, recs] : ns_identities_) {
    if (sel.Matches(NamespaceLabels(name))) add_from(recs);
  }
}

void IncrementalCompiler::IndexNamespace(const std::string& ns, bool add) {
  if (!add) {
    auto it = ns_indexed_.find(ns);
    if (it == ns_indexed_.end()) return;
    for (const auto& [k, v] : it->second) {
      auto b = ns_by_label_.find(k + "=" + v);
      if (b == ns_by_label_.end()) continue;
      b->second.erase(ns);
      if (b->second.empty()) ns_by_label_.erase(b);
    }
    ns_indexed_.erase(it);
    return;
  }
  const k8s::Labels& labels = NamespaceLabels(ns);
  for (const auto& [k, v] : labels) ns_by_label_[k + "=" + v].insert(ns);
  ns_indexed_[ns] = labels;
}

void IncrementalCompiler::ForEachIdentity(const std::function<void(uint32_t id, const k8s::Pod& pod)>& fn) const {
  for (const auto& [id, rec] : by_id_) fn(id, rec->example());
}

const k8s::Pod& IncrementalCompiler::IdentityPod(uint32_t id) const { return by_id_.at(id)->example(); }

void IncrementalCompiler::ForEachEndpointIp(
    const std::function<void(const k8s::Pod& pod, const IpAddr& ip)>& fn) const {
  for (const auto& [name, rec] : pods_) {
    if (!rec->endpoint) continue;
    for (const IpAddr& ip : rec->ips) fn(rec->pod, ip);
  }
}

void IncrementalCompiler::IndexCrossNamespace(const PolicyName& name, PolicyRec* p, bool add) {
  if (!add) {
    for (const std::string& k : p->cross_keys) {
      auto it = cross_by_label_.find(k);
      if (it == cross_by_label_.end()) continue;
      it->second.erase(name);
      if (it->second.empty()) cross_by_label_.erase(it);
    }
    p->cross_keys.clear();
    cross_unindexed_.erase(name);
    return;
  }
  bool unindexed = false;
  p->cross_keys = NamespaceSelectorKeys(p->np, &unindexed);
  for (const std::string& k : p->cross_keys) cross_by_label_[k].insert(name);
  if (unindexed) cross_unindexed_.insert(name);
}

void IncrementalCompiler::CrossNamespaceCandidates(const k8s::Labels& labels, std::set<PolicyName>* out) const {
  out->insert(cross_unindexed_.begin(), cross_unindexed_.end());
  for (const auto& [k, v] : labels) {
    if (auto it = cross_by_label_.find(k + "=" + v); it != cross_by_label_.end()) {
      out->insert(it->second.begin(), it->second.end());
    }
  }
}

// ---- Dependencies ---------------------------------------------------------------------------

void IncrementalCompiler::Redecode(PolicyRec* p) {
  const PolicyName name = NameOf(p->np.meta);
  for (uint32_t id : p->peer_ids) {
    auto it = referenced_by_.find(id);
    if (it == referenced_by_.end()) continue;
    it->second.erase(name);
    if (it->second.empty()) referenced_by_.erase(it);
  }
  auto ns = namespaces_.find(p->np.meta.ns);
  p->spec = DecodePolicy(p->np, *this,
                         Audited(p->np.meta, ns == namespaces_.end() ? nullptr : &ns->second, audit_by_default_));
  p->peer_ids.clear();
  p->named_egress = false;
  bool any_identity = false, endpoint_ips = false;
  for (int d = 0; d < 2; ++d) {
    for (const RuleSpec& r : p->spec.rules[d]) {
      p->peer_ids.insert(p->peer_ids.end(), r.peers.identities.begin(), r.peers.identities.end());
      if (d == static_cast<int>(Direction::kEgress) && !r.every_port && !r.named.empty()) {
        p->named_egress = true;
        any_identity |= r.peers.everyone || r.peers.all_pods;
        endpoint_ips |= !r.peers.everyone && !r.peers.blocks.empty();
      }
    }
  }
  std::sort(p->peer_ids.begin(), p->peer_ids.end());
  p->peer_ids.erase(std::unique(p->peer_ids.begin(), p->peer_ids.end()), p->peer_ids.end());
  for (uint32_t id : p->peer_ids) referenced_by_[id].insert(name);
  if (any_identity) {
    any_identity_policies_.insert(name);
  } else {
    any_identity_policies_.erase(name);
  }
  if (endpoint_ips) {
    endpoint_ip_policies_.insert(name);
  } else {
    endpoint_ip_policies_.erase(name);
  }
}

void IncrementalCompiler::FindDirtyPolicies(Batch* b) {
  std::set<PolicyName> dirty;
  for (const PolicyName& n : b->spec_changed) {
    if (!policies_.at(n)->deleted) dirty.insert(n);
  }
  // A relabelled namespace changes what namespaceSelectors see in it.
  for (const auto& [ns, old_labels] : b->ns_old_labels) {
    const k8s::Labels& now = NamespaceLabels(ns);
    if (now == old_labels || !ns_identities_.contains(ns)) continue;
    std::set<PolicyName> candidates;
    CrossNamespaceCandidates(old_labels, &candidates);
    CrossNamespaceCandidates(now, &candidates);
    for (const PolicyName& n : candidates) {
      const k8s::NetworkPolicy& np = policies_.at(n)->np;
      bool affected = false;
      for (Direction d : {Direction::kIngress, Direction::kEgress}) {
        if (!np.Covers(d)) continue;
        for (const auto& rule : np.Rules(d)) {
          for (const auto& peer : rule.peers) {
            if (peer.namespace_selector && !peer.ip_block &&
                peer.namespace_selector->Matches(old_labels) != peer.namespace_selector->Matches(now)) {
              affected = true;
            }
          }
        }
      }
      if (affected) dirty.insert(n);
    }
  }
  // Identities that vanished, moved to another id or changed the pod their named ports
  // resolve on: the policies listing them. New ones: the policies whose peers select them.
  auto referencing = [&](uint32_t id) {
    if (auto it = referenced_by_.find(id); it != referenced_by_.end()) Insert(&dirty, it->second);
  };
  const bool identities_changed = !b->removed.empty() || !b->id_changed.empty() || !b->added.empty();
  for (const auto& [rec, old_id] : b->removed) referencing(old_id);
  for (const auto& [rec, old_id] : b->id_changed) referencing(old_id);
  // New identities, by namespace: the policies of that namespace, and the namespaceSelector
  // policies whose selectors that namespace's labels can satisfy.
  std::map<std::string, std::vector<IdentityRec*>> added_by_ns;
  for (IdentityRec* rec : b->added) added_by_ns[rec->key.meta.ns].push_back(rec);
  for (const auto& [ns, recs] : added_by_ns) {
    std::set<PolicyName> candidates;
    if (auto it = ns_policies_.find(ns); it != ns_policies_.end()) candidates = it->second;
    CrossNamespaceCandidates(NamespaceLabels(ns), &candidates);
    for (const PolicyName& n : candidates) {
      if (dirty.contains(n)) continue;  // re-decoded anyway
      const PolicyRec& p = *policies_.at(n);
      if (p.deleted) continue;
      for (IdentityRec* rec : recs) {
        if (PolicyPeersSelect(p, *rec)) {
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
  if (identities_changed || examples_changed) Insert(&dirty, any_identity_policies_);
  if (b->endpoints_changed) Insert(&dirty, endpoint_ip_policies_);

  for (const PolicyName& n : dirty) {
    PolicyRec& p = *policies_.at(n);
    if (p.deleted) continue;
    PolicySpec before = std::move(p.spec);
    Redecode(&p);
    // Named egress rules also depend on the pods behind the identities: always rebuilt.
    if (b->spec_changed.contains(n) || p.named_egress || !(before == p.spec)) b->rebuild.insert(n);
  }
}

void IncrementalCompiler::UpdateSubjects(Batch* b) {
  for (const PolicyName& n : b->spec_changed) {
    PolicyRec& p = *policies_.at(n);
    std::set<IdentityRec*> now;
    if (!p.deleted) {
      if (auto it = ns_identities_.find(n.first); it != ns_identities_.end()) {
        for (IdentityRec* rec : it->second) {
          if (p.np.pod_selector.Matches(rec->key.meta.labels)) now.insert(rec);
        }
      }
    }
    for (IdentityRec* rec : p.subjects) {
      if (!now.contains(rec)) rec->selecting.erase(n);
      b->rekey.insert(rec);  // covered directions or named ports may have changed too
    }
    for (IdentityRec* rec : now) {
      rec->selecting.insert(n);
      b->rekey.insert(rec);
    }
    p.subjects = std::move(now);
  }
  for (IdentityRec* rec : b->added) {
    if (auto it = ns_policies_.find(rec->key.meta.ns); it != ns_policies_.end()) {
      for (const PolicyName& n : it->second) {
        PolicyRec& p = *policies_.at(n);
        if (p.np.pod_selector.Matches(rec->key.meta.labels)) {
          rec->selecting.insert(n);
          p.subjects.insert(rec);
        }
      }
    }
    b->rekey.insert(rec);
  }
  for (const auto& [rec, old_id] : b->removed) {
    for (const PolicyName& n : rec->selecting) policies_.at(n)->subjects.erase(rec);
    rec->selecting.clear();
    b->rekey.insert(rec);
  }
  for (IdentityRec* rec : b->example_changed) b->rekey.insert(rec);
}

}  // namespace netfence::compiler
