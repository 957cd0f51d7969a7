// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/resources.h"

namespace netfence::kube {

const std::array<ResourceSpec, 3>& Resources() {
  static const std::array<ResourceSpec, 3> kResources = {{
      {"namespaces", "/api/v1/namespaces", "Namespace", "v1"},
      {"pods", "/api/v1/pods", "Pod", "v1"},
      {"networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicy", "networking.k8s.io/v1"},
  }};
  return kResources;
}

}  // namespace netfence::kube
