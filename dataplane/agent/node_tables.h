// The tables of one node: the cluster's compiled tables narrowed to the endpoints this node
// enforces. A pod is local iff its spec.nodeName is this node or the CNI plugin registered
// it here; registered pods take the addresses of their CNI result (what the pod really has,
// known before the API server's status.podIP is).
#pragma once

#include <string>
#include <vector>

#include "controlplane/k8s/model.h"
#include "dataplane/agent/registry.h"
#include "netfence/v1/tables.pb.h"

namespace netfence::agent {

struct NodeTables {
  v1::RuleTables tables;
  std::vector<std::string> unknown_pods;  // registered pods the cluster state does not have
};

NodeTables CompileNodeTables(k8s::ClusterState state, const std::string& node, const Registry& registry,
                             uint64_t generation);

}  // namespace netfence::agent
