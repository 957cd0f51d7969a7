// SPDX-License-Identifier: Apache-2.0
#include "controlplane/kube/resources.h"

namespace netfence::kube {

const std::array<ResourceSpec, kResourceCount>& Resources() {
  static const std::array<ResourceSpec, kResourceCount> kResources = {{
      {"namespaces", "/api/v1/namespaces", "Namespace", "v1", false},
      {"pods", "/api/v1/pods", "Pod", "v1", false},
      {"networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicy", "networking.k8s.io/v1", false},
      {"nodes", "/api/v1/nodes", "Node", "v1", false},
      {"clusternetworkpolicies", "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies",
       "ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2", true},
      {"adminnetworkpolicies", "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies", "AdminNetworkPolicy",
       "policy.networking.k8s.io/v1alpha1", true},
      {"baselineadminnetworkpolicies", "/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies",
       "BaselineAdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1", true},
  }};
  return kResources;
}

}  // namespace netfence::kube
