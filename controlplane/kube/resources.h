// SPDX-License-Identifier: Apache-2.0
// The three resources netfence reads from the API server, with the names the protocol uses.
#pragma once

#include <array>
#include <string>

namespace netfence::kube {

struct ResourceSpec {
  std::string name;         // "pods": in messages ("watch pods") and metrics
  std::string path;         // "/api/v1/pods": every namespace
  std::string kind;         // "Pod"
  std::string api_version;  // "v1"
};

// namespaces, pods, networkpolicies (in that order everywhere: metrics, ListCluster).
const std::array<ResourceSpec, 3>& Resources();

}  // namespace netfence::kube
