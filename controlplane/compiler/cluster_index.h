// The selector index: cluster state arranged for compiling. Namespaces with the labels
// selectors see, security identities (pods sharing namespace, labels and named ports),
// which identities each policy selects, and the IP -> identity cache.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "controlplane/k8s/model.h"
#include "dataplane/common/ip.h"

namespace netfence::compiler {

struct IdentityInfo {
  uint32_t id = 0;
  std::string ns;
  const k8s::Pod* example = nullptr;  // a pod with this identity (labels, named ports)
  std::vector<uint32_t> pods;         // indexes into ClusterIndex::endpoints
  std::vector<uint32_t> policies;     // selecting policies (indexes into ClusterIndex::policies)

  const k8s::Labels& labels() const { return example->meta.labels; }
};

class ClusterIndex {
 public:
  explicit ClusterIndex(const k8s::ClusterState& state);

  // Policies sorted by (namespace, name); indexes are PolicyRef indexes in the tables.
  std::vector<const k8s::NetworkPolicy*> policies;
  // Endpoint pods sorted by (namespace, name).
  std::vector<const k8s::Pod*> endpoints;
  std::vector<uint32_t> endpoint_identity;  // per endpoint: index into identities
  std::vector<std::vector<IpAddr>> endpoint_ips;  // per endpoint: its parsed IPs
  // Identities sorted by id.
  std::vector<IdentityInfo> identities;
  // IP -> identity id, sorted by IP (pod IPs, and host-network pod IPs as the host identity).
  std::vector<std::pair<IpAddr, uint32_t>> ipcache;

  // Identity indexes of the namespace (empty if none).
  const std::vector<uint32_t>& IdentitiesIn(const std::string& ns) const;
  // Identity indexes matched by a policy peer's selectors in the policy's namespace `ns`.
  // `all_pods` is set instead when the peer matches every pod of the cluster.
  void SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                  std::vector<uint32_t>* out) const;

 private:
  const std::vector<std::string>& NamespacesMatching(const k8s::LabelSelector& sel) const;

  std::unordered_map<std::string, k8s::Labels> ns_labels_;  // every namespace with pods or an object
  std::unordered_map<std::string, std::vector<uint32_t>> ns_identities_;
  // label "k=v" -> namespaces carrying it, to narrow namespaceSelector scans
  std::unordered_map<std::string, std::vector<std::string>> ns_by_label_;
  mutable std::unordered_map<std::string, std::vector<std::string>> ns_selector_cache_;
};

}  // namespace netfence::compiler
