// SPDX-License-Identifier: Apache-2.0
// Dumps of a cluster state for failure reports: a compact text a person reads, and a v1
// `List` manifest the manifest loader (and so `netfencectl matrix|explain --manifests`)
// reads back, so a failing random case can be replayed outside the test.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "controlplane/k8s/model.h"

namespace netfence::reference {

// One line per namespace and pod, one per policy and rule.
std::string DescribeCluster(const k8s::ClusterState& state);

// {"apiVersion":"v1","kind":"List","items":[Namespace..., Pod..., NetworkPolicy...]}
nlohmann::json ClusterManifest(const k8s::ClusterState& state);

}  // namespace netfence::reference
