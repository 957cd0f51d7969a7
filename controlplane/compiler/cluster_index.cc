// SPDX-License-Identifier: Apache-2.0
#include "controlplane/compiler/cluster_index.h"

#include <algorithm>
#include <unordered_set>

#include "controlplane/compiler/compiler.h"
#include "controlplane/compiler/identity_key.h"

namespace netfence::compiler {

namespace {

const std::vector<uint32_t> kNoIdentities;

// Sorts pods by (namespace, name): namespaces are sorted once, then the few pods of each,
// which compares far fewer long strings than one sort of every pod.
void SortByNamespaceThenName(std::vector<const k8s::Pod*>* pods) {
  std::unordered_map<std::string_view, std::vector<const k8s::Pod*>> by_ns;
  for (const auto* p : *pods) by_ns[p->meta.ns].push_back(p);
  std::vector<std::string_view> names;
  names.reserve(by_ns.size());
  for (const auto& [ns, members] : by_ns) names.push_back(ns);
  std::sort(names.begin(), names.end());
  pods->clear();
  for (auto ns : names) {
    auto& members = by_ns[ns];
    std::sort(members.begin(), members.end(),
              [](const k8s::Pod* a, const k8s::Pod* b) { return a->meta.name < b->meta.name; });
    pods->insert(pods->end(), members.begin(), members.end());
  }
}

}  // namespace

ClusterIndex::ClusterIndex(const k8s::ClusterState& state) {
  const auto& pods = state.pods;
  ns_labels_.reserve(state.namespaces.size());
  for (const auto& ns : state.namespaces) ns_labels_[ns.meta.name] = ns.EffectiveLabels();

  // Per-pod work runs in memory order: at 150k pods, visiting them in name order is a
  // random walk through memory that costs more than the work itself.
  std::vector<uint32_t> ep_pod;  // endpoint pod indexes, memory order
  std::vector<uint64_t> ep_hash;
  for (uint32_t i = 0; i < pods.size(); ++i) {
    const auto& pod = pods[i];
    if (i == 0 || pod.meta.ns != pods[i - 1].meta.ns) {
      ns_labels_.try_emplace(pod.meta.ns, k8s::Labels{{"kubernetes.io/metadata.name", pod.meta.ns}});
    }
    if (!pod.IsEndpoint()) continue;
    ep_pod.push_back(i);
    ep_hash.push_back(IdentityHash(pod));
  }
  for (const auto& entry : ns_labels_) {
    for (const auto& [k, v] : entry.second) ns_by_label_[k + "=" + v].push_back(&entry);
  }

  // Endpoints in (namespace, name) order; pos[pod index] = endpoint index.
  for (uint32_t i : ep_pod) endpoints.push_back(&pods[i]);
  SortByNamespaceThenName(&endpoints);
  std::vector<uint32_t> pos(pods.size());
  for (uint32_t e = 0; e < endpoints.size(); ++e) pos[static_cast<size_t>(endpoints[e] - pods.data())] = e;
  auto by_name = [](const auto* a, const auto* b) {
    return std::tie(a->meta.ns, a->meta.name) < std::tie(b->meta.ns, b->meta.name);
  };
  for (const auto& p : state.policies) policies.push_back(&p);
  std::sort(policies.begin(), policies.end(), by_name);

  // Identities: endpoints grouped by key (hash, then a real comparison within a hash).
  struct Group {
    uint64_t hash;
    uint32_t rep;                   // pod index of the first member seen
    std::vector<uint32_t> members;  // endpoint indexes
  };
  std::vector<Group> groups;
  std::unordered_multimap<uint64_t, uint32_t> by_hash;  // hash -> group
  by_hash.reserve(ep_pod.size() / 2);
  for (size_t k = 0; k < ep_pod.size(); ++k) {
    const uint32_t i = ep_pod[k];
    uint32_t g = static_cast<uint32_t>(groups.size());
    auto [lo, hi] = by_hash.equal_range(ep_hash[k]);
    for (auto it = lo; it != hi; ++it) {
      if (SameIdentity(pods[groups[it->second].rep], pods[i])) {
        g = it->second;
        break;
      }
    }
    if (g == groups.size()) {
      groups.push_back({ep_hash[k], i, {}});
      by_hash.emplace(ep_hash[k], g);
    }
    groups[g].members.push_back(pos[i]);
  }
  for (auto& g : groups) std::sort(g.members.begin(), g.members.end());

  // Ids from the hash, so that an identity keeps its id when unrelated pods come and go;
  // collisions are resolved in key order.
  std::vector<std::pair<uint32_t, uint32_t>> wanted;  // (preferred id, group)
  for (uint32_t g = 0; g < groups.size(); ++g) wanted.emplace_back(PreferredIdentityId(groups[g].hash), g);
  std::sort(wanted.begin(), wanted.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return CompareIdentity(*endpoints[groups[a.second].members.front()], *endpoints[groups[b.second].members.front()]) <
           0;
  });
  std::unordered_set<uint32_t> used;
  used.reserve(wanted.size());
  std::vector<std::pair<uint32_t, uint32_t>> ids;  // (id, group)
  for (auto [id, g] : wanted) {
    while (!used.insert(id).second) id = NextIdentityId(id);
    ids.emplace_back(id, g);
  }
  std::sort(ids.begin(), ids.end());
  endpoint_identity.resize(endpoints.size());
  identities.reserve(ids.size());
  for (const auto& [id, g] : ids) {
    IdentityInfo info;
    info.id = id;
    info.example = endpoints[groups[g].members.front()];
    for (uint32_t e : groups[g].members) endpoint_identity[e] = static_cast<uint32_t>(identities.size());
    ns_identities_[info.ns()].push_back(static_cast<uint32_t>(identities.size()));
    identities.push_back(std::move(info));
  }

  // Which identities each policy selects (its namespace, its podSelector).
  for (uint32_t p = 0; p < policies.size(); ++p) {
    for (uint32_t i : IdentitiesIn(policies[p]->meta.ns)) {
      if (policies[p]->pod_selector.Matches(identities[i].labels())) identities[i].policies.push_back(p);
    }
  }

  // Cluster policies: which identities each one's subject selects (never host-network pods:
  // they are no endpoints).
  for (const auto& c : state.cluster_policies) cluster_policies.push_back(&c);
  std::sort(cluster_policies.begin(), cluster_policies.end(),
            [](const auto* a, const auto* b) { return k8s::ClusterPolicyBefore(*a, *b); });
  cluster_by_ref = cluster_policies;
  std::sort(cluster_by_ref.begin(), cluster_by_ref.end(), [](const auto* a, const auto* b) {
    return std::tie(a->kind, a->meta.name) < std::tie(b->kind, b->meta.name);
  });
  cluster_ref.resize(cluster_policies.size());
  for (uint32_t c = 0; c < cluster_policies.size(); ++c) {
    auto it = std::lower_bound(
        cluster_by_ref.begin(), cluster_by_ref.end(), cluster_policies[c],
        [](const auto* a, const auto* b) { return std::tie(a->kind, a->meta.name) < std::tie(b->kind, b->meta.name); });
    cluster_ref[c] = static_cast<uint32_t>(policies.size() + (it - cluster_by_ref.begin()));
    const k8s::ClusterNetworkPolicy& cnp = *cluster_policies[c];
    for (const auto& [ns, in_ns] : ns_identities_) {
      if (!cnp.subject.namespace_selector.Matches(ns_labels_.at(std::string(ns)))) continue;
      for (uint32_t i : in_ns) {
        if (cnp.subject.pod_selector.Matches(identities[i].labels())) identities[i].cluster.push_back(c);
      }
    }
  }
  for (auto& info : identities) std::sort(info.cluster.begin(), info.cluster.end());
  for (const auto& node : state.nodes) {
    std::vector<IpAddr> addrs;
    for (const auto& ip : node.internal_ips) {
      if (auto a = IpAddr::Parse(ip)) addrs.push_back(*a);
    }
    nodes_.emplace_back(&node, std::move(addrs));
  }

  // IP cache: endpoint IPs, then host-network pod IPs (the node's own addresses); parsed in
  // memory order too.
  struct Entry {
    uint64_t hi, lo;
    uint32_t rank;  // 0 for an endpoint's IP, 1 for a host's: an endpoint's claim wins
    uint32_t identity;
    IpAddr ip;
  };
  std::vector<Entry> entries;
  entries.reserve(endpoints.size());
  std::vector<uint32_t> ip_count(endpoints.size() + 1, 0);
  for (uint32_t i : ep_pod) {
    const uint32_t e = pos[i];
    for (const auto& ip : pods[i].pod_ips) {
      if (auto a = IpAddr::Parse(ip)) {
        ++ip_count[e];
        entries.push_back({a->hi(), a->lo(), 0, identities[endpoint_identity[e]].id, *a});
      }
    }
  }
  // Endpoint IPs in endpoint order, flat: offsets from the counts, then a second fill.
  ip_begin.assign(endpoints.size() + 1, 0);
  for (uint32_t e = 0; e < endpoints.size(); ++e) ip_begin[e + 1] = ip_begin[e] + ip_count[e];
  ips.resize(ip_begin.back());
  {
    std::vector<uint32_t> fill(ip_begin.begin(), ip_begin.end() - 1);
    size_t k = 0;
    for (uint32_t i : ep_pod) {
      const uint32_t e = pos[i];
      for (uint32_t n = 0; n < ip_count[e]; ++n) ips[fill[e]++] = entries[k++].ip;
    }
  }
  for (const auto& pod : state.pods) {
    if (!pod.host_network) continue;
    for (const auto& ip : pod.pod_ips) {
      if (auto a = IpAddr::Parse(ip)) entries.push_back({a->hi(), a->lo(), 1, kHostIdentity, *a});
    }
  }
  // One entry per IP; an endpoint's claim beats a host's, then the lower identity wins.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.hi, a.lo, a.rank, a.identity) < std::tie(b.hi, b.lo, b.rank, b.identity);
  });
  ipcache.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && entries[i].hi == entries[i - 1].hi && entries[i].lo == entries[i - 1].lo) continue;
    ipcache.emplace_back(entries[i].ip, entries[i].identity);
  }
}

const std::vector<uint32_t>& ClusterIndex::IdentitiesIn(std::string_view ns) const {
  auto it = ns_identities_.find(ns);
  return it == ns_identities_.end() ? kNoIdentities : it->second;
}

const std::vector<std::string_view>& ClusterIndex::NamespacesMatching(const k8s::LabelSelector& sel) const {
  std::string key = sel.str();
  auto it = ns_selector_cache_.find(key);
  if (it != ns_selector_cache_.end()) return it->second;
  std::vector<std::string_view> out;
  if (!sel.match_labels.empty()) {
    // Only namespaces carrying the first required label can match.
    const auto& [k, v] = *sel.match_labels.begin();
    auto cand = ns_by_label_.find(k + "=" + v);
    if (cand != ns_by_label_.end()) {
      for (const auto* ns : cand->second) {
        if (sel.Matches(ns->second)) out.push_back(ns->first);
      }
    }
  } else {
    for (const auto& [ns, labels] : ns_labels_) {
      if (sel.Matches(labels)) out.push_back(ns);
    }
  }
  return ns_selector_cache_.emplace(std::move(key), std::move(out)).first->second;
}

uint32_t ClusterIndex::IdentityIndex(uint32_t id) const {
  auto it = std::lower_bound(identities.begin(), identities.end(), id,
                             [](const IdentityInfo& info, uint32_t v) { return info.id < v; });
  return static_cast<uint32_t>(it - identities.begin());
}

void ClusterIndex::SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                              std::vector<uint32_t>* ids) const {
  if (peer.ip_block) return;
  const bool any_pod = !peer.pod_selector || peer.pod_selector->empty();
  if (!peer.namespace_selector) {
    for (uint32_t i : IdentitiesIn(ns)) {
      if (any_pod || peer.pod_selector->Matches(identities[i].labels())) ids->push_back(identities[i].id);
    }
    return;
  }
  if (peer.namespace_selector->empty() && any_pod) {
    *all_pods = true;
    return;
  }
  for (const auto& n : NamespacesMatching(*peer.namespace_selector)) {
    for (uint32_t i : IdentitiesIn(n)) {
      if (any_pod || peer.pod_selector->Matches(identities[i].labels())) ids->push_back(identities[i].id);
    }
  }
}

void ClusterIndex::SelectNodeAddresses(const k8s::LabelSelector& sel, std::vector<IpAddr>* out) const {
  for (const auto& [node, addrs] : nodes_) {
    if (sel.Matches(node->meta.labels)) out->insert(out->end(), addrs.begin(), addrs.end());
  }
}

void ClusterIndex::ForEachIdentity(const std::function<void(uint32_t id, const k8s::Pod& pod)>& fn) const {
  for (const IdentityInfo& info : identities) fn(info.id, *info.example);
}

void ClusterIndex::ForEachEndpointIp(const std::function<void(const k8s::Pod& pod, const IpAddr& ip)>& fn) const {
  for (uint32_t e = 0; e < endpoints.size(); ++e) {
    for (const IpAddr& ip : EndpointIps(e)) fn(*endpoints[e], ip);
  }
}

}  // namespace netfence::compiler
