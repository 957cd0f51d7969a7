#include "controlplane/compiler/incremental.h"

#include <algorithm>
#include <tuple>
#include <unordered_set>

#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/identity_key.h"
#include "controlplane/compiler/rows.h"
#include "google/protobuf/util/message_differencer.h"

namespace netfence::compiler {

using google::protobuf::util::MessageDifferencer;
using k8s::Direction;

struct IncrementalCompiler::PodRec {
  k8s::Pod pod;
  bool endpoint = false;
  std::vector<IpAddr> ips;          // the parsed pod IPs it claims (endpoint or host-network)
  IdentityRec* identity = nullptr;  // endpoints only
};

struct IncrementalCompiler::IdentityRec {
  k8s::Pod key;  // a copy of the first member: its namespace, labels and ports are the key
  uint64_t hash = 0;
  uint32_t preferred = 0;
  uint32_t id = 0;  // 0 until assigned
  bool dead = false;
  std::map<std::string, PodRec*> members;  // by pod name (one namespace)
  std::set<PolicyName> selecting;          // policies whose podSelector matches, policy order
  uint64_t table[2] = {0, 0};
  bool has_tables = false;

  // Named ports resolve on the first member in name order, as in the batch compiler.
  const k8s::Pod& example() const { return members.begin()->second->pod; }
};

struct IncrementalCompiler::PolicyRec {
  k8s::NetworkPolicy np;
  bool deleted = false;
  PolicySpec spec;
  std::set<IdentityRec*> subjects;  // identities its podSelector selects
  std::vector<uint32_t> peer_ids;   // identity ids its peers list
  bool named_egress = false;        // egress rules with named ports
  std::set<uint64_t> tables;        // tables compiled from it
  std::vector<std::string> cross_keys;  // its keys in cross_by_label_
};

struct IncrementalCompiler::TableRec {
  uint64_t id = 0;
  std::string key;
  Direction dir = Direction::kIngress;
  std::vector<PolicyName> policies;  // covering policies, in rule-bit order
  std::set<IdentityRec*> users;
};

struct IncrementalCompiler::Batch {
  std::map<std::string, k8s::Labels> ns_old_labels;  // labels before the batch, per namespace touched
  std::set<PolicyName> spec_changed;                  // added, updated or deleted
  std::set<IdentityRec*> added;                       // created by this batch
  std::set<IdentityRec*> emptied;                     // lost their last member (may come back)
  std::vector<std::pair<IdentityRec*, uint32_t>> removed;  // gone for good, with their old id
  std::vector<IdentityRec*> discarded;                     // created and emptied in the batch
  std::map<IdentityRec*, uint32_t> id_changed;             // kept, moved to another id (old id)
  std::set<IdentityRec*> example_changed;
  bool endpoints_changed = false;  // some endpoint pod changed (named egress through ipBlocks)
  std::set<EndpointName> endpoints;
  std::set<IpAddr> ips;
  std::set<PolicyName> rebuild;  // policies whose tables are rebuilt
  std::set<IdentityRec*> rekey;  // identities whose table keys may have changed
  std::set<uint64_t> tables;     // tables to build
};

namespace {

PolicyName NameOf(const k8s::ObjectMeta& m) { return {m.ns, m.name}; }

uint64_t KeyHash(const std::string& key) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
  return h == 0 ? 1 : h;
}

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

template <typename T>
void Insert(std::set<T>* into, const std::set<T>& from) {
  into->insert(from.begin(), from.end());
}

}  // namespace

bool IncrementalCompiler::PreferenceOrder::operator()(const IdentityRec* a, const IdentityRec* b) const {
  if (a->preferred != b->preferred) return a->preferred < b->preferred;
  return CompareIdentity(a->key, b->key) < 0;
}

IncrementalCompiler::IncrementalCompiler() = default;
IncrementalCompiler::~IncrementalCompiler() = default;

std::vector<v1::PolicyRef> IncrementalCompiler::Policies() const {
  std::vector<v1::PolicyRef> out;
  out.reserve(policies_.size());
  for (const auto& [name, p] : policies_) {
    v1::PolicyRef ref;
    ref.set_namespace_(name.first);
    ref.set_name(name.second);
    out.push_back(std::move(ref));
  }
  return out;
}

const std::vector<PolicyName>& IncrementalCompiler::TablePolicies(uint64_t table) const {
  static const std::vector<PolicyName> kNone;
  auto it = tables_.find(table);
  return it == tables_.end() ? kNone : it->second->policies;
}

v1::RuleTables IncrementalCompiler::Materialize(uint64_t generation) const {
  const std::vector<v1::PolicyRef> policies = Policies();
  return Assemble(set_, generation, policies);
}

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

void IncrementalCompiler::ForEachEndpointIp(const std::function<void(const k8s::Pod& pod, const IpAddr& ip)>& fn) const {
  for (const auto& [name, rec] : pods_) {
    if (!rec->endpoint) continue;
    for (const IpAddr& ip : rec->ips) fn(rec->pod, ip);
  }
}

// ---- Events ---------------------------------------------------------------------------------

void IncrementalCompiler::ApplyNamespace(const source::Event& e, Batch* b) {
  const auto& ns = std::get<k8s::Namespace>(e.object);
  b->ns_old_labels.try_emplace(ns.meta.name, NamespaceLabels(ns.meta.name));
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

IncrementalCompiler::IdentityRec* IncrementalCompiler::FindIdentity(const k8s::Pod& pod, uint64_t hash) const {
  auto [lo, hi] = by_hash_.equal_range(hash);
  for (auto it = lo; it != hi; ++it) {
    if (SameIdentity(it->second->key, pod)) return it->second;
  }
  return nullptr;
}

void IncrementalCompiler::JoinIdentity(PodRec* pod, Batch* b) {
  const uint64_t hash = IdentityHash(pod->pod);
  IdentityRec* rec = FindIdentity(pod->pod, hash);
  if (rec == nullptr) {
    auto owned = std::make_unique<IdentityRec>();
    rec = owned.get();
    rec->key = pod->pod;
    rec->hash = hash;
    rec->preferred = PreferredIdentityId(hash);
    identity_store_.push_back(std::move(owned));
    by_hash_.emplace(hash, rec);
    auto& in_ns = ns_identities_[rec->key.meta.ns];
    if (in_ns.empty()) IndexNamespace(rec->key.meta.ns, true);
    in_ns.insert(rec);
    b->added.insert(rec);
  } else if (rec->dead) {
    rec->dead = false;  // emptied earlier in this batch, back now: it never left
    b->emptied.erase(rec);
  } else if (pod->pod.meta.name < rec->members.begin()->first) {
    b->example_changed.insert(rec);
  }
  rec->members[pod->pod.meta.name] = pod;
  pod->identity = rec;
}

void IncrementalCompiler::LeaveIdentity(PodRec* pod, Batch* b) {
  IdentityRec* rec = pod->identity;
  pod->identity = nullptr;
  const bool was_example = rec->members.begin()->first == pod->pod.meta.name;
  rec->members.erase(pod->pod.meta.name);
  if (rec->members.empty()) {
    rec->dead = true;
    b->emptied.insert(rec);
  } else if (was_example && !b->added.contains(rec)) {
    b->example_changed.insert(rec);
  }
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

// ---- Identity ids ---------------------------------------------------------------------------

void IncrementalCompiler::Unindex(IdentityRec* rec) {
  auto [lo, hi] = by_hash_.equal_range(rec->hash);
  for (auto h = lo; h != hi; ++h) {
    if (h->second == rec) {
      by_hash_.erase(h);
      break;
    }
  }
  auto ns = ns_identities_.find(rec->key.meta.ns);
  ns->second.erase(rec);
  if (ns->second.empty()) {
    IndexNamespace(rec->key.meta.ns, false);
    ns_identities_.erase(ns);
  }
}

// The batch compiler's rule over every identity: in preference order, each takes its
// preferred id or the next free one.
void IncrementalCompiler::RecomputeAllIds(Batch* b) {
  std::unordered_set<uint32_t> used;
  std::vector<std::pair<IdentityRec*, uint32_t>> moves;
  for (IdentityRec* rec : by_preference_) {
    uint32_t id = rec->preferred;
    while (!used.insert(id).second) id = NextIdentityId(id);
    if (id != rec->id) moves.emplace_back(rec, id);
  }
  for (auto [rec, id] : moves) {
    if (auto it = by_id_.find(rec->id); rec->id != 0 && it != by_id_.end() && it->second == rec) by_id_.erase(it);
  }
  for (auto [rec, id] : moves) {
    if (rec->id != 0) b->id_changed.try_emplace(rec, rec->id);
    rec->id = id;
    by_id_[id] = rec;
  }
}

void IncrementalCompiler::AssignIds(Batch* b) {
  // Identities emptied and not refilled are gone: free their ids. Where the next identities
  // in preference order were pushed up by them, or will be pushed by new ones, ids move: the
  // walk below redoes the batch rule from each such place until ids stop changing.
  std::vector<IdentityRec*> starts;
  for (IdentityRec* rec : b->emptied) {
    if (b->added.erase(rec) > 0) {  // created and emptied within the batch: it never existed
      Unindex(rec);
      b->discarded.push_back(rec);
      continue;
    }
    auto next = by_preference_.upper_bound(rec);
    by_preference_.erase(rec);
    if (auto it = by_id_.find(rec->id); it != by_id_.end() && it->second == rec) by_id_.erase(it);
    Unindex(rec);
    b->removed.emplace_back(rec, rec->id);
    if (next != by_preference_.end()) starts.push_back(*next);
  }
  for (IdentityRec* rec : b->added) {
    by_preference_.insert(rec);
    starts.push_back(rec);
  }
  std::sort(starts.begin(), starts.end(), PreferenceOrder());
  std::vector<std::tuple<IdentityRec*, uint32_t, uint32_t>> moves;  // (rec, old, new)
  std::unordered_map<IdentityRec*, uint32_t> planned;
  auto id_of = [&](IdentityRec* r) {
    auto p = planned.find(r);
    return p == planned.end() ? r->id : p->second;
  };
  for (IdentityRec* start : starts) {
    auto it = by_preference_.find(start);
    if (it == by_preference_.end()) continue;
    for (; it != by_preference_.end(); ++it) {
      IdentityRec* rec = *it;
      uint32_t want = rec->preferred;
      if (it != by_preference_.begin()) want = std::max(want, id_of(*std::prev(it)) + 1);
      if (want >= IdentityIdLimit()) {  // the ids wrap: only the whole rule is right
        RecomputeAllIds(b);
        return;
      }
      // Ids after an identity whose id stays are what they were: the walk ends there.
      auto p = planned.find(rec);
      if (p != planned.end() ? p->second == want : (rec->id != 0 && rec->id == want)) break;
      if (p == planned.end()) moves.emplace_back(rec, rec->id, want);
      planned[rec] = want;
    }
  }
  for (auto& [rec, old_id, new_id] : moves) {
    if (auto f = by_id_.find(old_id); old_id != 0 && f != by_id_.end() && f->second == rec) by_id_.erase(f);
  }
  for (auto& [rec, old_id, new_id] : moves) {
    const uint32_t final_id = planned.at(rec);
    if (rec->id == final_id) continue;
    if (rec->id != 0) b->id_changed.try_emplace(rec, rec->id);
    rec->id = final_id;
    by_id_[final_id] = rec;
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
  p->spec = DecodePolicy(p->np, *this);
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
    table_by_key_.erase(t.key);
    tables_.erase(it);
    b->tables.insert(id);  // reported as removed by RebuildTables
  }
}

void IncrementalCompiler::RebuildTables(Batch* b, Changes* out) {
  for (const PolicyName& n : b->rebuild) Insert(&b->tables, policies_.at(n)->tables);
  std::vector<uint64_t> arena;
  std::vector<TablePolicy> specs;
  for (uint64_t id : b->tables) {
    auto it = tables_.find(id);
    if (it == tables_.end()) {
      if (set_.tables.erase(id) > 0) out->tables.insert(id);
      continue;
    }
    const TableRec& t = *it->second;
    specs.clear();
    v1::DirectionTable unit;
    for (const PolicyName& n : t.policies) {
      specs.push_back({static_cast<uint32_t>(specs.size()), &policies_.at(n)->spec});
      auto* ref = unit.add_policies();
      ref->set_namespace_(n.first);
      ref->set_name(n.second);
    }
    arena.clear();
    RowWriter rows(&arena, 0);
    builder_.Build(t.dir, specs, (*t.users.begin())->example(), *this, &rows, &unit);
    unit.mutable_words()->Add(arena.begin(), arena.end());
    ++out->tables_built;
    auto [slot, inserted] = set_.tables.try_emplace(id);
    if (!inserted && MessageDifferencer::Equals(slot->second, unit)) continue;
    slot->second = std::move(unit);
    out->tables.insert(id);
    for (const PolicyName& n : t.policies) out->policies.insert(n);
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
    for (const IpAddr& ip : pod.ips) e.add_ips(AddrBytes(ip));
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
    e.set_addr(AddrBytes(ip));
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
        },
        e.object);
  }
  AssignIds(&b);
  FindDirtyPolicies(&b);
  UpdateSubjects(&b);
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
  if (!b.removed.empty() || !b.discarded.empty()) {
    std::unordered_set<IdentityRec*> gone(b.discarded.begin(), b.discarded.end());
    for (const auto& [rec, old_id] : b.removed) gone.insert(rec);
    std::erase_if(identity_store_, [&](const std::unique_ptr<IdentityRec>& r) { return gone.contains(r.get()); });
  }
  return out;
}

}  // namespace netfence::compiler
