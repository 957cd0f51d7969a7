// SPDX-License-Identifier: Apache-2.0
// Pods as the nodes see them. The CNI plugin registers a pod with its node's agent before the
// API server knows its address (status.podIP is written after the sandbox is up): the
// agent's registration says on which node the pod runs and which addresses it has, and the
// compiler must use those, or the pod would have no tables when its first packet flows.
//
// The overlay sits between a cluster-state source and the compiler. It keeps the API's pods
// and every node's registrations and hands the compiler the *effective* pods: a registered
// pod runs on the registering node with the registered addresses (when the registration
// has any). A registration of a pod the cluster does not have, or that is no endpoint even
// so (host-network, finished), is "unknown": nothing is compiled for it and the node is told
// (its CNI ADD fails).
//
// A node's word is taken only for what it can know. Its agent may register a pod only if the
// scheduler bound the pod to that node (spec.nodeName = the node the session authenticated;
// a pod the API has not bound, as in a manifest directory without nodeName, goes to the
// registering node first by name), and only with addresses the API reports for the pod (any,
// until the kubelet has reported them). Anything else is refused and counted: a node cannot
// move another node's pod, or give a pod an address that the identity of that pod would
// then follow on every node.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/tables/table_set.h"
#include "controlplane/source/source.h"

namespace netfence::distribution {

struct Registration {
  std::string ns, name;
  std::vector<IpAddr> ips;
};

class EndpointOverlay {
 public:
  // Source events in, compiler events out (pods rewritten where registered).
  std::vector<source::Event> OnSourceEvents(std::vector<source::Event> events);
  // The whole registry of `node` (replaces its previous one); compiler events out.
  std::vector<source::Event> SetRegistrations(const std::string& node, const std::vector<Registration>& regs);

  // Registered pods of `node` that are unknown (see above), sorted.
  std::vector<tables::EndpointName> Unknown(const std::string& node) const;
  // Nodes that have registered something.
  std::set<std::string> Nodes() const;

  // Registrations refused so far: of a pod bound to another node, with an address the API
  // does not report for the pod, or (while it reports none) outside the node's pod CIDRs.
  struct Refusals {
    uint64_t wrong_node = 0;
    uint64_t foreign_address = 0;
    uint64_t outside_pod_cidr = 0;
  };
  const Refusals& refusals() const { return refusals_; }

 private:
  struct Claim {
    std::string node;
    std::vector<IpAddr> ips;
  };
  // The pod the compiler sees for `name` (nullopt: none), from the API pod and the claims.
  std::optional<k8s::Pod> Effective(const tables::EndpointName& name) const;
  // Whether `node` may give the pod `api` these addresses: the API's own when it reports
  // any, else any inside the node's pod CIDRs (any at all while the Node declares none).
  bool AddressesAllowed(const k8s::Pod& api, const std::string& node, const std::vector<IpAddr>& ips) const;
  // Re-derives `name` and appends the event that brings the compiler up to date.
  void Refresh(const tables::EndpointName& name, std::vector<source::Event>* out);

  std::map<tables::EndpointName, k8s::Pod> api_pods_;
  std::map<tables::EndpointName, std::map<std::string, Claim>> claims_;  // by pod, by node
  std::map<std::string, std::set<tables::EndpointName>> by_node_;
  std::map<tables::EndpointName, k8s::Pod> given_;  // what the compiler has now
  std::map<std::string, std::vector<IpPrefix>> pod_cidrs_;  // Node.spec.podCIDRs, by node
  Refusals refusals_;
};

}  // namespace netfence::distribution
