// SPDX-License-Identifier: Apache-2.0
// The resources netfence reads from the API server, with the names the protocol uses.
#pragma once

#include <array>
#include <string>

namespace netfence::kube {

struct ResourceSpec {
  std::string name;         // "pods": in messages ("watch pods") and metrics
  std::string path;         // "/api/v1/pods": every namespace
  std::string kind;         // "Pod"
  std::string api_version;  // "v1"
  // Served only when its CustomResourceDefinition is installed: a 404 means "none of them"
  // (the reflector treats the resource as empty and checks again later) instead of an error.
  bool optional = false;
};

// namespaces, pods, networkpolicies, nodes, clusternetworkpolicies (v1alpha2), and the
// v1alpha1 adminnetworkpolicies and baselineadminnetworkpolicies (in that order everywhere:
// metrics, ListCluster).
inline constexpr size_t kResourceCount = 7;
const std::array<ResourceSpec, kResourceCount>& Resources();

}  // namespace netfence::kube
