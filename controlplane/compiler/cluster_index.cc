#include "controlplane/compiler/cluster_index.h"

#include <algorithm>
#include <set>

#include "controlplane/compiler/compiler.h"

namespace netfence::compiler {

namespace {

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The key of a pod's identity: namespace, labels, named ports (resolution of named ports in
// egress rules depends on the destination's ports, so they are part of what a peer is).
std::string IdentityKey(const k8s::Pod& pod) {
  std::string key = pod.meta.ns;
  key += '\0';
  for (const auto& [k, v] : pod.meta.labels) {
    key += k;
    key += '=';
    key += v;
    key += '\0';
  }
  key += '\1';
  std::vector<std::string> named;
  for (const auto& p : pod.ports) {
    if (!p.name.empty()) named.push_back(p.name + "/" + p.protocol + "/" + std::to_string(p.container_port));
  }
  std::sort(named.begin(), named.end());
  for (const auto& n : named) {
    key += n;
    key += '\0';
  }
  return key;
}

const std::vector<uint32_t> kNoIdentities;

}  // namespace

ClusterIndex::ClusterIndex(const k8s::ClusterState& state) {
  for (const auto& ns : state.namespaces) ns_labels_[ns.meta.name] = ns.EffectiveLabels();
  for (const auto& pod : state.pods) {
    if (!ns_labels_.count(pod.meta.ns)) ns_labels_[pod.meta.ns] = {{"kubernetes.io/metadata.name", pod.meta.ns}};
    if (pod.IsEndpoint()) endpoints.push_back(&pod);
  }
  for (const auto& [name, labels] : ns_labels_) {
    for (const auto& [k, v] : labels) ns_by_label_[k + "=" + v].push_back(name);
  }
  auto by_name = [](const auto* a, const auto* b) {
    return std::tie(a->meta.ns, a->meta.name) < std::tie(b->meta.ns, b->meta.name);
  };
  std::sort(endpoints.begin(), endpoints.end(), by_name);
  for (const auto& p : state.policies) policies.push_back(&p);
  std::sort(policies.begin(), policies.end(), by_name);

  // Identities: group endpoints by key; ids from a hash of the key, so that an identity
  // keeps its id when unrelated pods come and go. Collisions are resolved in key order.
  std::map<std::string, std::vector<uint32_t>> by_key;
  for (uint32_t e = 0; e < endpoints.size(); ++e) by_key[IdentityKey(*endpoints[e])].push_back(e);
  std::set<uint32_t> used;
  std::vector<std::pair<uint32_t, const std::vector<uint32_t>*>> ids;
  for (const auto& [key, members] : by_key) {
    constexpr uint32_t kSpace = 0x7fffffffu - kFirstPodIdentity;
    uint32_t id = kFirstPodIdentity + static_cast<uint32_t>(Fnv1a(key) % kSpace);
    while (!used.insert(id).second) id = id + 1 >= 0x7fffffffu ? kFirstPodIdentity : id + 1;
    ids.emplace_back(id, &members);
  }
  std::sort(ids.begin(), ids.end());
  endpoint_identity.resize(endpoints.size());
  for (const auto& [id, members] : ids) {
    IdentityInfo info;
    info.id = id;
    info.example = endpoints[members->front()];
    info.ns = info.example->meta.ns;
    info.pods = *members;
    for (uint32_t e : *members) endpoint_identity[e] = static_cast<uint32_t>(identities.size());
    ns_identities_[info.ns].push_back(static_cast<uint32_t>(identities.size()));
    identities.push_back(std::move(info));
  }

  // Which identities each policy selects (its namespace, its podSelector).
  for (uint32_t p = 0; p < policies.size(); ++p) {
    for (uint32_t i : IdentitiesIn(policies[p]->meta.ns)) {
      if (policies[p]->pod_selector.Matches(identities[i].labels())) identities[i].policies.push_back(p);
    }
  }

  // IP cache: endpoint IPs, then host-network pod IPs (the node's own addresses).
  for (uint32_t e = 0; e < endpoints.size(); ++e) {
    for (const auto& ip : endpoints[e]->pod_ips) {
      if (auto a = IpAddr::Parse(ip)) ipcache.emplace_back(*a, identities[endpoint_identity[e]].id);
    }
  }
  for (const auto& pod : state.pods) {
    if (!pod.host_network) continue;
    for (const auto& ip : pod.pod_ips) {
      if (auto a = IpAddr::Parse(ip)) ipcache.emplace_back(*a, kHostIdentity);
    }
  }
  // One entry per IP; an endpoint's claim beats a host's, then the lower identity wins.
  std::stable_sort(ipcache.begin(), ipcache.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return (a.second == kHostIdentity) < (b.second == kHostIdentity);
  });
  ipcache.erase(std::unique(ipcache.begin(), ipcache.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                ipcache.end());
}

const std::vector<uint32_t>& ClusterIndex::IdentitiesIn(const std::string& ns) const {
  auto it = ns_identities_.find(ns);
  return it == ns_identities_.end() ? kNoIdentities : it->second;
}

const std::vector<std::string>& ClusterIndex::NamespacesMatching(const k8s::LabelSelector& sel) const {
  std::string key = sel.str();
  auto it = ns_selector_cache_.find(key);
  if (it != ns_selector_cache_.end()) return it->second;
  std::vector<std::string> out;
  if (!sel.match_labels.empty()) {
    // Only namespaces carrying the first required label can match.
    const auto& [k, v] = *sel.match_labels.begin();
    auto cand = ns_by_label_.find(k + "=" + v);
    if (cand != ns_by_label_.end()) {
      for (const auto& ns : cand->second) {
        if (sel.Matches(ns_labels_.at(ns))) out.push_back(ns);
      }
    }
  } else {
    for (const auto& [ns, labels] : ns_labels_) {
      if (sel.Matches(labels)) out.push_back(ns);
    }
  }
  return ns_selector_cache_.emplace(std::move(key), std::move(out)).first->second;
}

void ClusterIndex::SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                              std::vector<uint32_t>* out) const {
  if (peer.ip_block) return;
  const bool any_pod = !peer.pod_selector || peer.pod_selector->empty();
  if (!peer.namespace_selector) {
    for (uint32_t i : IdentitiesIn(ns)) {
      if (any_pod || peer.pod_selector->Matches(identities[i].labels())) out->push_back(i);
    }
    return;
  }
  if (peer.namespace_selector->empty() && any_pod) {
    *all_pods = true;
    return;
  }
  for (const auto& n : NamespacesMatching(*peer.namespace_selector)) {
    for (uint32_t i : IdentitiesIn(n)) {
      if (any_pod || peer.pod_selector->Matches(identities[i].labels())) out->push_back(i);
    }
  }
}

}  // namespace netfence::compiler
