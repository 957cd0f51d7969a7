// SPDX-License-Identifier: Apache-2.0
// The selector index: cluster state arranged for compiling. Namespaces with the labels
// selectors see, security identities (pods sharing namespace, labels and named ports),
// which identities each policy and cluster policy selects, node addresses, and the IP ->
// identity cache.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/ip.h"
#include "controlplane/compiler/rule_spec.h"
#include "controlplane/compiler/table_builder.h"
#include "controlplane/k8s/model.h"

namespace netfence::compiler {

struct IdentityInfo {
  uint32_t id = 0;
  const k8s::Pod* example = nullptr;  // a pod with this identity (labels, named ports)
  std::vector<uint32_t> policies;     // selecting policies (indexes into ClusterIndex::policies)
  std::vector<uint32_t> cluster;      // selecting cluster policies (indexes into ClusterIndex::cluster_policies)

  const k8s::Labels& labels() const { return example->meta.labels; }
  const std::string& ns() const { return example->meta.ns; }
};

class ClusterIndex : public PeerSelector, public NamedPortScope {
 public:
  explicit ClusterIndex(const k8s::ClusterState& state);

  // Policies sorted by (namespace, name); indexes are PolicyRef indexes in the tables.
  std::vector<const k8s::NetworkPolicy*> policies;
  // Cluster policies in evaluation order (k8s::ClusterPolicyBefore), and the PolicyRef index
  // of each (after the NetworkPolicies, by kind then name).
  std::vector<const k8s::ClusterNetworkPolicy*> cluster_policies;
  std::vector<uint32_t> cluster_ref;
  std::vector<const k8s::ClusterNetworkPolicy*> cluster_by_ref;  // by PolicyRef index - policies.size()
  // Endpoint pods sorted by (namespace, name).
  std::vector<const k8s::Pod*> endpoints;
  std::vector<uint32_t> endpoint_identity;  // per endpoint: index into identities
  // The parsed IPs of endpoint e: ips[ip_begin[e] .. ip_begin[e + 1]).
  std::vector<IpAddr> ips;
  std::vector<uint32_t> ip_begin;
  std::span<const IpAddr> EndpointIps(uint32_t e) const {
    return {ips.data() + ip_begin[e], ips.data() + ip_begin[e + 1]};
  }
  // Identities sorted by id.
  std::vector<IdentityInfo> identities;
  // IP -> identity id, sorted by IP (pod IPs, and host-network pod IPs as the host identity).
  std::vector<std::pair<IpAddr, uint32_t>> ipcache;

  // Identity indexes of the namespace (empty if none).
  const std::vector<uint32_t>& IdentitiesIn(std::string_view ns) const;
  // Identity index of an identity id (one that exists).
  uint32_t IdentityIndex(uint32_t id) const;

  // PeerSelector: identity ids matched by a policy peer's selectors.
  void SelectPeer(const k8s::NetworkPolicyPeer& peer, const std::string& ns, bool* all_pods,
                  std::vector<uint32_t>* ids) const override;
  void SelectNodeAddresses(const k8s::LabelSelector& sel, std::vector<IpAddr>* out) const override;
  // NamedPortScope.
  void ForEachIdentity(const std::function<void(uint32_t id, const k8s::Pod& pod)>& fn) const override;
  const k8s::Pod& IdentityPod(uint32_t id) const override { return *identities[IdentityIndex(id)].example; }
  void ForEachEndpointIp(const std::function<void(const k8s::Pod& pod, const IpAddr& ip)>& fn) const override;

 private:
  const std::vector<std::string_view>& NamespacesMatching(const k8s::LabelSelector& sel) const;

  std::vector<std::pair<const k8s::Node*, std::vector<IpAddr>>> nodes_;        // with their parsed InternalIPs
  std::unordered_map<std::string, k8s::Labels> ns_labels_;                     // every namespace with pods or an object
  std::unordered_map<std::string_view, std::vector<uint32_t>> ns_identities_;  // views into pods
  // label "k=v" -> namespaces carrying it, to narrow namespaceSelector scans
  // (views into ns_labels_ keys, which never move once the index is built)
  std::unordered_map<std::string, std::vector<const std::pair<const std::string, k8s::Labels>*>> ns_by_label_;
  mutable std::unordered_map<std::string, std::vector<std::string_view>> ns_selector_cache_;
};

}  // namespace netfence::compiler
